"""Campaigns (B2-B4), bulk sends (B6) and opt-out (B5) through the API on a real database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select

from smshub.campaigns import service
from smshub.kit.db import unit_of_work
from smshub.messaging import service as messaging_service
from smshub.messaging import tasks as messaging_tasks
from smshub.models import CampaignRecipient, SimulatorOutbox
from smshub.worker import create_worker
from tests.factories import Messaging, messaging_tenant, run_jobs

NUMBERS = [f"+1202555{i:04d}" for i in range(1, 7)]


async def _list(m: Messaging, numbers: list[str]) -> str:
    r = await m.t.admin.post("/api/v1/lists", json={"name": "L"})
    list_id: str = r.json()["id"]
    for i, n in enumerate(numbers):
        body = {"e164": n, "fields": {"name": f"N{i}"}}
        assert (
            await m.t.admin.post(f"/api/v1/lists/{list_id}/entries", json=body)
        ).status_code == 201
    return list_id


async def _campaign(m: Messaging, list_id: str, **extra: Any) -> dict[str, Any]:
    body = {"name": "Promo", "from": m.e164, "body": "Hi {name}!", "list_id": list_id, "rate": 50}
    r = await m.t.admin.post("/api/v1/campaigns", json={**body, **extra})
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def _outbox(app: FastAPI) -> list[str]:
    async with unit_of_work(app.state.sessions) as s:
        return list((await s.execute(select(SimulatorOutbox.to_e164))).scalars())


async def _one_tick(app: FastAPI) -> None:
    """One dispatcher tick, then only the send jobs it queued (not the next tick)."""
    runner = create_worker(app.state.settings, app.state.sessions)
    ticks = await runner.claim(1, kinds=(service.DISPATCH_JOB,))
    assert len(ticks) == 1
    await runner.execute(ticks[0])
    sends = await runner.claim(200, kinds=(messaging_service.SEND_JOB,))
    await runner.execute_batch(sends, messaging_tasks.dispatch_messages)


async def test_campaign_from_list_sends_each_recipient_once(tenants, app):
    m = await messaging_tenant(await tenants.make())
    camp = await _campaign(m, await _list(m, NUMBERS))
    assert camp["status"] == "draft" and camp["counts"]["pending"] == 6
    preview = (await m.t.admin.get(f"/api/v1/campaigns/{camp['id']}/preview")).json()
    assert preview["sendable"] == 6 and preview["segments_max"] == 1
    assert preview["sample"][0] == "Hi N0!"
    r = await m.t.admin.post(f"/api/v1/campaigns/{camp['id']}/start")
    assert r.status_code == 200 and r.json()["status"] == "running"
    await run_jobs(app)
    done = (await m.t.admin.get(f"/api/v1/campaigns/{camp['id']}")).json()
    assert done["status"] == "completed"
    assert done["counts"]["total"] == 6
    assert done["counts"]["sent"] + done["counts"]["delivered"] == 6
    assert sorted(await _outbox(app)) == NUMBERS
    listed = (await m.t.admin.get("/api/v1/campaigns", params={"status": "completed"})).json()
    assert [c["id"] for c in listed["items"]] == [camp["id"]]
    assert (await m.t.admin.get("/api/v1/campaigns", params={"status": "draft"})).json()[
        "items"
    ] == []
    recipients = (await m.t.admin.get(f"/api/v1/campaigns/{camp['id']}/recipients")).json()
    assert {x["status"] for x in recipients["items"]} <= {"sent", "delivered"}
    # A reply lands in the normal conversation of the sender number.
    await m.inbound(NUMBERS[0], "Thanks!")
    convs = (await m.users[0][1].get("/api/v1/conversations")).json()["items"]
    assert any(c.get("remote") == NUMBERS[0] or NUMBERS[0] in str(c) for c in convs)
    assert (await m.t.admin.post(f"/api/v1/campaigns/{camp['id']}/start")).status_code == 409


async def test_csv_campaign_counts_invalid_duplicate_blocklisted(tenants, app):
    m = await messaging_tenant(await tenants.make())
    await m.t.admin.post("/api/v1/blocklist", json={"e164": NUMBERS[1]})
    csv = "number,name\n" + "\n".join(
        [f"{NUMBERS[0]},A", f"{NUMBERS[1]},B", "nonsense,C", f"{NUMBERS[0]},D", f"{NUMBERS[2]},E"]
    )
    r = await m.t.admin.post(
        "/api/v1/campaigns/import",
        data={"name": "CSV", "from": m.e164, "body": "Yo {name}", "rate": "100"},
        files={"file": ("r.csv", csv.encode(), "text/csv")},
    )
    assert r.status_code == 201, r.text
    camp = r.json()
    assert [x["reason"] for x in camp["report"]["rejected"]] == [
        "invalid E.164 number",
        "duplicate",
    ]
    preview = (await m.t.admin.get(f"/api/v1/campaigns/{camp['id']}/preview")).json()
    assert (preview["recipients"], preview["invalid"], preview["duplicate"]) == (5, 1, 1)
    assert (preview["blocklisted"], preview["sendable"]) == (1, 2)
    cost = await m.t.admin.get(
        f"/api/v1/campaigns/{camp['id']}/preview", params={"price_per_segment": 0.05}
    )
    assert cost.json()["estimated_cost"] == 0.1
    await m.t.admin.post(f"/api/v1/campaigns/{camp['id']}/start")
    await run_jobs(app)
    counts = (await m.t.admin.get(f"/api/v1/campaigns/{camp['id']}")).json()["counts"]
    assert counts["skipped_blocklisted"] == 1 and counts["skipped_invalid"] == 1
    assert counts["skipped_duplicate"] == 1 and counts["pending"] == 0
    assert sorted(await _outbox(app)) == [NUMBERS[0], NUMBERS[2]]


async def test_stop_mid_campaign_blocks_every_campaign_but_not_people(tenants, app):
    m = await messaging_tenant(await tenants.make())
    list_id = await _list(m, NUMBERS[:3])
    camp = await _campaign(m, list_id, rate=1)
    await m.t.admin.post(f"/api/v1/campaigns/{camp['id']}/start")
    await _one_tick(app)  # the first recipient only
    assert await _outbox(app) == [NUMBERS[0]]
    await m.inbound(NUMBERS[1], "STOP")
    entry = (await m.t.admin.get(f"/api/v1/blocklist/{NUMBERS[1]}")).json()
    assert entry["source"] == "opt_out"
    await run_jobs(app)
    counts = (await m.t.admin.get(f"/api/v1/campaigns/{camp['id']}")).json()["counts"]
    assert counts["skipped_blocklisted"] == 1
    # Another campaign of the tenant skips it too.
    other = await _campaign(m, list_id, rate=100)
    await m.t.admin.post(f"/api/v1/campaigns/{other['id']}/start")
    await run_jobs(app)
    sent = await _outbox(app)
    # The only message to NUMBERS[1] is the opt-out confirmation (system reply).
    assert sent.count(NUMBERS[1]) == 1
    # A person's direct message still goes.
    _, user = m.users[0]
    r = await user.post("/api/v1/messages", json={"from": m.e164, "to": NUMBERS[1], "body": "hi"})
    assert r.status_code == 202, r.text
    await run_jobs(app)
    assert (await _outbox(app)).count(NUMBERS[1]) == 2


async def test_stop_after_queueing_holds_the_queued_message(tenants, app):
    m = await messaging_tenant(await tenants.make())
    camp = await _campaign(m, await _list(m, NUMBERS[:2]), rate=1)
    await m.t.admin.post(f"/api/v1/campaigns/{camp['id']}/start")
    runner = create_worker(app.state.settings, app.state.sessions)
    tick = await runner.claim(1, kinds=(service.DISPATCH_JOB,))
    await runner.execute(tick[0])  # NUMBERS[0]'s message is queued, not yet sent
    await m.inbound(NUMBERS[0], "STOP")
    await run_jobs(app)
    sent = await _outbox(app)
    assert sent.count(NUMBERS[0]) == 1  # the opt-out confirmation only
    assert NUMBERS[1] in sent
    counts = (await m.t.admin.get(f"/api/v1/campaigns/{camp['id']}")).json()["counts"]
    assert counts["skipped_blocklisted"] == 1 and counts["failed"] == 0
    assert counts["sent"] + counts["delivered"] == 1


async def test_stop_then_restart_sends_nothing_twice(tenants, app):
    m = await messaging_tenant(await tenants.make())
    camp = await _campaign(m, await _list(m, NUMBERS), rate=1)
    url = f"/api/v1/campaigns/{camp['id']}"
    await m.t.admin.post(f"{url}/start")
    await _one_tick(app)
    r = await m.t.admin.post(f"{url}/stop")
    assert r.json()["status"] == "stopped"
    await run_jobs(app)  # the queued tick finds the campaign stopped
    assert len(await _outbox(app)) == 1
    assert (await m.t.admin.get(url)).json()["counts"]["pending"] == 5
    await m.t.admin.patch(url, json={"rate": 200})
    r = await m.t.admin.post(f"{url}/restart")
    assert r.json()["status"] == "running"
    await run_jobs(app)
    assert sorted(await _outbox(app)) == NUMBERS
    assert (await m.t.admin.get(url)).json()["status"] == "completed"


async def test_quiet_hours_defer_until_morning(tenants, app):
    m = await messaging_tenant(await tenants.make())
    camp = await _campaign(m, await _list(m, NUMBERS[:2]), quiet_start="21:00", quiet_end="08:00")
    await m.t.admin.post(f"/api/v1/campaigns/{camp['id']}/start")
    night = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 23:00 in Washington DC (EST)
    async with unit_of_work(app.state.sessions) as s:
        await service.dispatch_tick(s, camp["id"], 1, night, 0, night)
    async with unit_of_work(app.state.sessions) as s:
        rows = (await s.execute(select(CampaignRecipient))).scalars().all()
        assert {r.status for r in rows} == {"pending"}
        assert {r.defer_until for r in rows} == {datetime(2026, 3, 2, 13, 0, tzinfo=UTC)}
    morning = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    async with unit_of_work(app.state.sessions) as s:
        await service.dispatch_tick(s, camp["id"], 1, morning, 1, morning)
        n = (
            await s.execute(select(func.count()).where(CampaignRecipient.status == "queued"))
        ).scalar_one()
    assert n == 2


async def test_bulk_endpoint_runs_as_a_campaign(tenants, app):
    m = await messaging_tenant(await tenants.make())
    await m.t.admin.post("/api/v1/blocklist", json={"e164": NUMBERS[2]})
    body = {"from": m.e164, "to": [*NUMBERS[:3], "junk", NUMBERS[0]], "body": "Hello", "rate": 100}
    r = await m.t.admin.post("/api/v1/messages/bulk", json=body)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "running"
    await run_jobs(app)
    counts = (await m.t.admin.get(f"/api/v1/campaigns/{r.json()['id']}")).json()["counts"]
    assert counts["skipped_invalid"] == counts["skipped_duplicate"] == 1
    assert counts["skipped_blocklisted"] == 1
    assert sorted(await _outbox(app)) == NUMBERS[:2]


async def test_bad_input_is_a_clear_422(tenants):
    m = await messaging_tenant(await tenants.make())
    list_id = await _list(m, NUMBERS[:1])
    base = {"name": "P", "from": m.e164, "body": "Hi", "list_id": list_id}
    cases: list[tuple[dict[str, Any], str | None]] = [
        ({"body": "Hi {surname}"}, "body"),
        ({"body": "Hi {"}, "body"),
        ({"body": ""}, "body"),
        ({"sender_type": "sender_id", "from": "ACME"}, "from"),  # not registered
        ({"sender_type": "sender_id", "from": "1234"}, "from"),  # no letter
        ({"sender_type": "sender_id", "from": "ACME TRADING"}, "from"),  # over 11
        ({"sender_type": "sender_id", "from": "AC#ME"}, "from"),
        ({"sender_type": "fax"}, "sender_type"),
        ({"from": "+14155550199"}, "from"),
        ({"list_id": "nope"}, "list_id"),
        ({"rate": 0}, "rate"),
        ({"rate": 5000}, "rate"),
        ({"quiet_start": "25:00", "quiet_end": "08:00"}, "quiet_start"),
        ({"quiet_start": "21:00"}, None),
        ({"rating_user_id": "nobody"}, "rating_user_id"),
        ({"extra": 1}, "extra"),
    ]
    for change, field in cases:
        r = await m.t.admin.post("/api/v1/campaigns", json={**base, **change})
        assert r.status_code == 422, (change, r.text)
        if field:
            assert r.json()["error"]["field"].startswith(field), (change, r.json())
    r = await m.t.admin.post(
        "/api/v1/campaigns/import",
        data={"name": "x", "from": m.e164, "body": "b", "rate": "abc"},
        files={"file": ("r.csv", b"number\n+12025550001\n", "text/csv")},
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "rate"
    r = await m.t.admin.post(
        "/api/v1/campaigns/import",
        data={"name": "x", "from": m.e164, "body": "b"},
        files={"file": ("r.csv", b"city\nParis\n", "text/csv")},
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "file"
    r = await m.t.admin.get("/api/v1/campaigns", params={"status": "weird"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "status"
    for body in ({"from": m.e164, "to": [], "body": "x"}, {"from": m.e164, "to": ["+1"]}):
        r = await m.t.admin.post("/api/v1/messages/bulk", json=body)
        assert r.status_code == 422, body


async def test_user_role_and_other_tenants_are_kept_out(tenants):
    m = await messaging_tenant(await tenants.make("A"))
    other = await tenants.make("B")
    camp = await _campaign(m, await _list(m, NUMBERS[:1]))
    _, user = m.users[0]
    r = await user.post(
        "/api/v1/campaigns",
        json={"name": "P", "from": m.e164, "body": "x", "list_id": camp["list_id"]},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "admin_required"
    for path in ("start", "stop", "restart"):
        r = await user.post(f"/api/v1/campaigns/{camp['id']}/{path}")
        assert r.status_code == 403
    assert (await user.get("/api/v1/campaigns")).status_code == 403
    assert (await user.get("/api/v1/blocklist")).status_code == 403
    r = await user.post(
        "/api/v1/messages/bulk", json={"from": m.e164, "to": [NUMBERS[0]], "body": "x"}
    )
    assert r.status_code == 403
    for url in ("", "/preview", "/recipients"):
        assert (await other.admin.get(f"/api/v1/campaigns/{camp['id']}{url}")).status_code == 404
    assert (await other.admin.post(f"/api/v1/campaigns/{camp['id']}/start")).status_code == 404
    assert (await other.admin.get("/api/v1/campaigns")).json()["items"] == []


async def test_campaign_under_a_registered_sender_id(tenants, app):
    """B2/N6: the sender ID registered on a number sends through that number's route;
    the recipient sees the sender ID, the conversation stays on the number."""
    m = await messaging_tenant(await tenants.make())
    number_id = m.number["id"]
    r = await m.t.admin.patch(f"/api/v1/numbers/{number_id}", json={"sender_ids": ["Acme"]})
    assert r.status_code == 200 and r.json()["sender_ids"] == ["Acme"], r.text
    camp = await _campaign(
        m, await _list(m, NUMBERS[:2]), sender_type="sender_id", **{"from": "ACME"}
    )
    assert camp["sender_type"] == "sender_id" and camp["from"] == "ACME"
    assert (await m.t.admin.post(f"/api/v1/campaigns/{camp['id']}/start")).status_code == 200
    await run_jobs(app)
    async with unit_of_work(app.state.sessions) as s:
        rows = (await s.execute(select(SimulatorOutbox))).scalars().all()
    assert sorted(r.to_e164 for r in rows) == NUMBERS[:2]
    assert {(r.sender_id, r.from_e164) for r in rows} == {("ACME", m.e164)}
    thread = (await m.users[0][1].get("/api/v1/conversations")).json()["items"]
    conv = next(c for c in thread if c["remote"] == NUMBERS[0])
    msgs = (await m.users[0][1].get(f"/api/v1/conversations/{conv['id']}/messages")).json()
    assert [x["sender_id"] for x in msgs["items"]] == ["ACME"]
    # Unregistering stops the campaign's route: a new campaign under it is refused.
    r = await m.t.admin.patch(f"/api/v1/numbers/{number_id}", json={"sender_ids": []})
    assert r.status_code == 200 and r.json()["sender_ids"] == []
    body = {"name": "P", "sender_type": "sender_id", "from": "ACME", "body": "Hi"}
    r = await m.t.admin.post("/api/v1/campaigns", json={**body, "list_id": camp["list_id"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "sender_id_not_registered"


async def test_sender_ids_are_checked_and_belong_to_one_tenant(tenants):
    a = await messaging_tenant(await tenants.make())
    b = await messaging_tenant(await tenants.make(), e164="+14155550111")
    url = f"/api/v1/numbers/{a.number['id']}"
    for bad in (["1234"], ["TOO LONG NAME"], ["A#B"], [" ACME"], ["Acme", "ACME"], [""]):
        r = await a.t.admin.patch(url, json={"sender_ids": bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["field"].startswith("sender_ids"), r.json()
    assert (await a.t.admin.patch(url, json={"sender_ids": ["ACME"]})).status_code == 200
    # Another number of the same tenant cannot register it too...
    other = await a.t.number("+14155550122")
    r = await a.t.admin.patch(f"/api/v1/numbers/{other['id']}", json={"sender_ids": ["acme"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "sender_id_taken"
    r = await a.t.admin.post(
        "/api/v1/numbers", json={"e164": "+14155550133", "sender_ids": ["Acme"]}
    )
    assert r.status_code == 409 and r.json()["error"]["field"] == "sender_ids"
    # ...but another tenant may, and cannot send under tenant A's registration.
    assert (
        await b.t.admin.patch(f"/api/v1/numbers/{b.number['id']}", json={"sender_ids": ["ACME"]})
    ).status_code == 200
    assert (
        await b.t.admin.patch(f"/api/v1/numbers/{b.number['id']}", json={"sender_ids": []})
    ).status_code == 200
    list_id = await _list(b, NUMBERS[:1])
    body = {
        "name": "P",
        "sender_type": "sender_id",
        "from": "ACME",
        "body": "Hi",
        "list_id": list_id,
    }
    r = await b.t.admin.post("/api/v1/campaigns", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "sender_id_not_registered"
    # A user (not admin) cannot register sender IDs.
    r = await a.users[0][1].patch(url, json={"sender_ids": ["OTHER"]})
    assert r.status_code == 403
