"""Build tenants, users and API clients through the real services and API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import httpx
from fastapi import FastAPI

from smshub.auth import service as auth_service
from smshub.kit.db import unit_of_work
from smshub.kit.outbox import Event
from smshub.realtime.hub import Hub

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


async def run_jobs(app: FastAPI) -> int:
    """Run every due job to the end in this process, as a worker would."""
    from smshub.worker import create_worker

    runner = create_worker(app.state.settings, app.state.sessions)
    return await runner.run_until_idle()


@dataclass
class Messaging:
    """A tenant with a simulator connector, a number and extensions on it."""

    t: TenantCtx
    connector_id: str
    number: dict[str, Any]
    users: list[tuple[str, httpx.AsyncClient]]

    @property
    def e164(self) -> str:
        return str(self.number["e164"])

    async def inbound(self, from_e164: str, body: str, to: str | None = None) -> dict[str, Any]:
        r = await self.t.admin.post(
            "/api/v1/simulator/inbound",
            json={"from": from_e164, "to": to or self.e164, "body": body},
        )
        assert r.status_code == 202, r.text
        data: dict[str, Any] = r.json()
        return data


async def messaging_tenant(
    t: TenantCtx, e164: str = "+14155550100", users: int = 2, **sim: Any
) -> Messaging:
    config = {"delivery_delay_s": 0, "failure_rate": 0, **sim}
    r = await t.admin.post(
        "/api/v1/connectors", json={"name": "Sim", "kind": "simulator", "config": config}
    )
    assert r.status_code == 201, r.text
    connector_id = r.json()["id"]
    number = await t.number(e164, connector_id=connector_id)
    made = [await t.user(str(201 + i)) for i in range(users)]
    await t.admin.patch("/api/v1/tenant", json={"one_number_per_extension": False})
    r = await t.admin.put(
        f"/api/v1/numbers/{number['id']}/assignees", json={"user_ids": [u for u, _ in made]}
    )
    assert r.status_code == 200, r.text
    return Messaging(t, connector_id, number, made)


async def collect_events(hub: Hub, user_id: str, into: list[Event], ready: asyncio.Event) -> None:
    """Subscribe as `user_id` and append every event until cancelled."""
    async with hub.subscribe(user_id, None) as sub:
        ready.set()
        async for event in sub:
            into.append(event)
