"""Build tenants, users and API clients through the real services and API."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from typing import Any

import httpx
from fastapi import FastAPI

from smshub.auth import service as auth_service
from smshub.kit.db import unit_of_work

_seq = count(1)


@dataclass
class TenantCtx:
    app: FastAPI
    tenant_id: str
    admin_id: str
    admin: httpx.AsyncClient
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    async def user(
        self, extension: str, role: str = "user", **extra: Any
    ) -> tuple[str, httpx.AsyncClient]:
        """Create an extension through the API and return its id and its own client."""
        body = {"extension": extension, "name": f"User {extension}", "role": role, **extra}
        r = await self.admin.post("/api/v1/users", json=body)
        assert r.status_code == 201, r.text
        async with unit_of_work(self.app.state.sessions) as s:
            key = await auth_service.create_api_key(s, self.tenant_id, extension)
        c = client(self.app, key)
        self.clients.append(c)
        return r.json()["id"], c

    async def number(self, e164: str, **extra: Any) -> dict[str, Any]:
        r = await self.admin.post("/api/v1/numbers", json={"e164": e164, **extra})
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data


def client(app: FastAPI, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://test",
        headers=headers,
    )


class Tenants:
    def __init__(self, app: FastAPI):
        self.app = app
        self.made: list[TenantCtx] = []

    async def make(self, name: str | None = None, password: str = "secret-pass-1") -> TenantCtx:
        name = name or f"Tenant {next(_seq)}"
        async with unit_of_work(self.app.state.sessions) as s:
            tenant, user, key = await auth_service.create_tenant(
                s, name, admin_extension="100", admin_name="Admin", admin_password=password
            )
        ctx = TenantCtx(self.app, tenant.id, user.id, client(self.app, key))
        self.made.append(ctx)
        return ctx

    def anonymous(self) -> httpx.AsyncClient:
        c = client(self.app, None)
        return c

    async def close(self) -> None:
        for t in self.made:
            await t.admin.aclose()
            for c in t.clients:
                await c.aclose()
