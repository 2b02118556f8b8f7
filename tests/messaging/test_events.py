"""Realtime events of messaging reach exactly the users who see the number."""

from __future__ import annotations

import asyncio

from smshub.kit.outbox import Event
from tests.factories import collect_events, messaging_tenant, run_jobs


async def _settle(events: list[Event], want: int, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while len(events) < want and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)


async def test_events_reach_the_numbers_users_and_nobody_else(tenants, app, hub):
    m = await messaging_tenant(await tenants.make())
    (alice_id, alice), (bob_id, _) = m.users
    carol_id, _ = await m.t.user("299")  # same tenant, not on the number
    other = await messaging_tenant(await tenants.make(), e164="+14155550101")
    stranger_id = other.users[0][0]
    seen: dict[str, list[Event]] = {u: [] for u in (alice_id, bob_id, carol_id, stranger_id)}
    readies = [asyncio.Event() for _ in seen]
    tasks = [
        asyncio.create_task(collect_events(hub, u, seen[u], r))
        for u, r in zip(seen, readies, strict=True)
    ]
    await asyncio.gather(*(r.wait() for r in readies))
    try:
        await m.inbound("+12025550123", "hello")
        r = await alice.post(
            "/api/v1/messages", json={"from": m.e164, "to": "+12025550123", "body": "hi"}
        )
        await run_jobs(app)
        await _settle(seen[bob_id], 6)
        for user in (alice_id, bob_id):
            types = [e.type for e in seen[user] if e.type != "ready"]
            assert types.count("message.created") == 2, types
            assert "unread.changed" in types
            statuses = [e.data["status"] for e in seen[user] if e.type == "message.status"]
            assert statuses == ["sending", "sent", "delivered"], statuses
            assert any(e.data.get("id") == r.json()["id"] for e in seen[user])
        for user in (carol_id, stranger_id):
            assert [e.type for e in seen[user] if e.type not in ("ready",)] == []
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
