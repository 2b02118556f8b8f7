"""The route index picks what Starlette's full scan picks, for every route of the app."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from starlette.routing import Route

from smshub.kit.routing import RouteIndex, literal_segments


def test_literal_segments_stop_at_the_first_parameter() -> None:
    assert literal_segments("/api/v1/messages/{id}") == ("api", "v1", "messages")
    assert literal_segments("/api/{v}/x") == ("api",)
    assert literal_segments("/") == ()


async def test_index_answers_as_the_full_scan_does(app: FastAPI) -> None:
    assert isinstance(app.router.middleware_stack, RouteIndex)
    paths = {"/", "/nope", "/api/v1/nope", "/api/v1/messages/", "/static/../x", "/metrics"}
    for route in app.router.routes:
        if isinstance(route, Route):
            concrete = re.sub(r"{[^}]+}", "01J0000000000000000000000X", route.path)
            paths |= {concrete, concrete + "/", concrete + "/extra"}
    transport = httpx.ASGITransport(app=app)
    indexed: dict[tuple[str, str], int] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path in sorted(paths):
            for method in ("GET", "POST", "DELETE"):
                r = await client.request(method, path, follow_redirects=False)
                indexed[(method, path)] = r.status_code
        app.router.middleware_stack = app.router.app  # Starlette's own scan
        for (method, path), status in indexed.items():
            r = await client.request(method, path, follow_redirects=False)
            assert r.status_code == status, (method, path)
    assert len(indexed) > 300
