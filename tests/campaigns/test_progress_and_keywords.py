"""campaign.progress reaches the tenant's admins only; tenant keywords feed the blocklist."""

from __future__ import annotations

import asyncio

from smshub.kit.outbox import Event
from tests.factories import collect_events, messaging_tenant, run_jobs


async def test_progress_events_go_to_admins_only(tenants, app, hub):
    m = await messaging_tenant(await tenants.make())
    user_id = m.users[0][0]
    other = await tenants.make()
    seen: dict[str, list[Event]] = {m.t.admin_id: [], user_id: [], other.admin_id: []}
    readies = [asyncio.Event() for _ in seen]
    tasks = [
        asyncio.create_task(collect_events(hub, u, seen[u], r))
        for u, r in zip(seen, readies, strict=True)
    ]
    await asyncio.gather(*(r.wait() for r in readies))
    try:
        r = await m.t.admin.post(
            "/api/v1/messages/bulk",
            json={"from": m.e164, "to": ["+12025550001", "+12025550002"], "body": "x", "rate": 100},
        )
        await run_jobs(app)
        deadline = asyncio.get_running_loop().time() + 5
        progress: list[Event] = []
        while asyncio.get_running_loop().time() < deadline:
            progress = [e for e in seen[m.t.admin_id] if e.type == "campaign.progress"]
            if progress and progress[-1].data["status"] == "completed":
                break
            await asyncio.sleep(0.02)
        assert progress[0].data["status"] == "running"
        last = progress[-1].data
        assert last["id"] == r.json()["id"] and last["status"] == "completed"
        assert last["counts"]["total"] == 2 and last["counts"]["pending"] == 0
        for outsider in (user_id, other.admin_id):
            assert not [e for e in seen[outsider] if e.type == "campaign.progress"]
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_tenant_keywords_opt_out_and_in(tenants, app):
    m = await messaging_tenant(await tenants.make())
    await m.t.admin.put(
        "/api/v1/compliance/keywords", json={"opt_out": ["basta"], "opt_in": ["vuelvo"]}
    )
    await m.t.admin.patch("/api/v1/tenant", json={"opt_out_reply": "Adios."})
    assert (await m.inbound("+12025550001", "Basta!"))["action"] == "opt_out"
    entry = (await m.t.admin.get("/api/v1/blocklist/+12025550001")).json()
    assert entry["source"] == "opt_out"
    await run_jobs(app)
    outbox = (await m.t.admin.get("/api/v1/simulator/outbox")).json()["items"]
    assert [x["body"] for x in outbox] == ["Adios."]
    await m.inbound("+12025550001", "vuelvo")
    assert (await m.t.admin.get("/api/v1/blocklist/+12025550001")).status_code == 404
    # Another tenant's keywords do not apply here.
    other = await messaging_tenant(await tenants.make(), e164="+14155550101")
    await other.inbound("+12025550009", "basta")
    assert (await other.t.admin.get("/api/v1/blocklist")).json()["items"] == []
