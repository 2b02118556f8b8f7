"""Receiving: routing, quarantine, blocks, opt-out keywords, unread and visibility."""

from __future__ import annotations

from tests.factories import messaging_tenant, run_jobs

PHONE = "+12025550123"


async def test_inbound_reaches_assignees_and_group_members(tenants):
    m = await messaging_tenant(await tenants.make())
    (_, alice), (_, bob) = m.users
    gid, gina = await m.t.user("250")
    await m.t.admin.post(
        "/api/v1/groups", json={"name": "Team", "member_ids": [gid], "number_id": m.number["id"]}
    )
    _, outsider = await m.t.user("260")
    got = await m.inbound(PHONE, "Hi there")
    assert got["message_id"] and got["quarantine_id"] is None
    for client in (alice, bob, gina):
        convs = (await client.get("/api/v1/conversations")).json()["items"]
        assert [(c["remote"], c["unread"], c["preview"]) for c in convs] == [(PHONE, 1, "Hi there")]
        assert (await client.get("/api/v1/unread")).json()["total"] == 1
    assert (await outsider.get("/api/v1/conversations")).json()["items"] == []
    cid = (await alice.get("/api/v1/conversations")).json()["items"][0]["id"]
    assert (await outsider.get(f"/api/v1/conversations/{cid}")).status_code == 404
    assert (await outsider.get(f"/api/v1/conversations/{cid}/messages")).status_code == 404
    assert (await outsider.get(f"/api/v1/messages/{got['message_id']}")).status_code == 404
    assert (await outsider.post(f"/api/v1/conversations/{cid}/read")).status_code == 404
    assert (await outsider.get("/api/v1/messages", params={"q": "Hi"})).json()["items"] == []
    # Shared number: the thread says who shares it.
    conv = (await alice.get(f"/api/v1/conversations/{cid}")).json()
    assert {u["extension"] for u in conv["shared_with"]} == {"201", "202", "250"}


async def test_unknown_number_is_quarantined_not_dropped(tenants):
    m = await messaging_tenant(await tenants.make())
    got = await m.inbound(PHONE, "anyone?", to="+14155550199")
    assert got["message_id"] is None and got["quarantine_id"]
    items = (await m.t.admin.get("/api/v1/quarantine")).json()["items"]
    assert [(q["from"], q["to"], q["reason"]) for q in items] == [
        (PHONE, "+14155550199", "unknown_number")
    ]
    _, user = m.users[0]
    assert (await user.get("/api/v1/quarantine")).status_code == 403


async def test_simulator_cannot_inject_into_another_tenant(tenants):
    a = await messaging_tenant(await tenants.make())
    b = await messaging_tenant(await tenants.make(), e164="+14155550101")
    got = await b.inbound(PHONE, "sneaky", to=a.e164)
    assert got["message_id"] is None and got["quarantine_id"]
    _, alice = a.users[0]
    assert (await alice.get("/api/v1/conversations")).json()["items"] == []
    assert (await a.t.admin.get("/api/v1/quarantine")).json()["items"] == []


async def test_read_state_is_per_user_and_mark_all_read(tenants):
    m = await messaging_tenant(await tenants.make())
    (_, alice), (_, bob) = m.users
    await m.inbound(PHONE, "one")
    await m.inbound("+61400123456", "two")
    cid = (await alice.get("/api/v1/conversations")).json()["items"][1]["id"]
    assert (await alice.post(f"/api/v1/conversations/{cid}/read")).status_code == 204
    assert (await alice.get("/api/v1/unread")).json()["total"] == 1
    assert (await bob.get("/api/v1/unread")).json()["total"] == 2
    r = await bob.post("/api/v1/unread/mark-all-read")
    assert r.json() == {"total": 0, "conversations": []}
    assert (await bob.get("/api/v1/unread")).json()["total"] == 0
    only_unread = (await alice.get("/api/v1/conversations", params={"unread": True})).json()
    assert [c["remote"] for c in only_unread["items"]] == ["+61400123456"]


async def test_list_is_sorted_by_latest_activity_and_pages(tenants):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    phones = [f"+1202555{n:04d}" for n in range(120, 127)]
    for p in phones:
        await m.inbound(p, f"from {p}")
    await m.inbound(phones[0], "again")
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await alice.get("/api/v1/conversations", params=params)).json()
        seen += [c["remote"] for c in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [phones[0], *reversed(phones[1:])]
    r = await alice.get("/api/v1/conversations", params={"cursor": "garbage!"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "cursor"


async def test_search_finds_by_number_text_and_contact_name(tenants):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    await m.t.admin.post("/api/v1/contacts", json={"name": "Erin Example", "numbers": [PHONE]})
    await m.inbound(PHONE, "about the invoice")
    await m.inbound("+61400123456", "other")
    for q in ("erin", "invoice", "555012"):
        items = (await alice.get("/api/v1/conversations", params={"q": q})).json()["items"]
        assert [c["remote"] for c in items] == [PHONE], q
    assert items[0]["contact_name"] == "Erin Example"


async def test_delete_for_me_then_new_inbound_brings_it_back(tenants):
    m = await messaging_tenant(await tenants.make())
    (_, alice), (_, bob) = m.users
    await m.inbound(PHONE, "first")
    cid = (await alice.get("/api/v1/conversations")).json()["items"][0]["id"]
    assert (await alice.delete(f"/api/v1/conversations/{cid}")).status_code == 204
    assert (await alice.get("/api/v1/conversations")).json()["items"] == []
    assert len((await bob.get("/api/v1/conversations")).json()["items"]) == 1
    await m.inbound(PHONE, "second")
    items = (await alice.get("/api/v1/conversations")).json()["items"]
    assert [(c["id"], c["unread"]) for c in items] == [(cid, 1)]


async def test_delete_message_removes_it_from_the_thread(tenants):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    got = await m.inbound(PHONE, "oops")
    await m.inbound(PHONE, "keep")
    assert (await alice.delete(f"/api/v1/messages/{got['message_id']}")).status_code == 204
    cid = (await alice.get("/api/v1/conversations")).json()["items"][0]["id"]
    thread = (await alice.get(f"/api/v1/conversations/{cid}/messages")).json()["items"]
    assert [x["body"] for x in thread] == ["keep"]
    assert (await alice.get(f"/api/v1/messages/{got['message_id']}")).status_code == 404


async def test_block_quarantines_inbound_and_unblock_restores(tenants):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    await m.inbound(PHONE, "hello")
    cid = (await alice.get("/api/v1/conversations")).json()["items"][0]["id"]
    assert (await alice.post(f"/api/v1/conversations/{cid}/block")).status_code == 204
    got = await m.inbound(PHONE, "spam")
    assert got["message_id"] is None and got["quarantine_id"]
    assert [q["reason"] for q in (await m.t.admin.get("/api/v1/quarantine")).json()["items"]] == [
        "blocked"
    ]
    assert (await alice.get(f"/api/v1/conversations/{cid}")).json()["blocked"] is True
    await alice.post(f"/api/v1/conversations/{cid}/unblock")
    assert (await m.inbound(PHONE, "sorry"))["message_id"]


async def test_agent_stop_reply_blocks_instead_of_sending(tenants, app):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    await m.inbound(PHONE, "hello")
    r = await alice.post("/api/v1/messages", json={"from": m.e164, "to": PHONE, "body": "STOP"})
    assert r.status_code == 202 and r.json()["status"] == "blocked" and r.json()["id"] is None
    assert (await m.inbound(PHONE, "more"))["quarantine_id"]
    await run_jobs(app)
    assert (await m.t.admin.get("/api/v1/simulator/outbox")).json()["items"] == []


async def test_opt_out_keywords_feed_the_blocklist_and_reply(tenants, app):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    got = await m.inbound(PHONE, " Stop. ")
    assert got["action"] == "opt_out"
    entries = (await m.t.admin.get("/api/v1/blocklist")).json()["items"]
    assert [(e["e164"], e["source"]) for e in entries] == [(PHONE, "opt_out")]
    assert (await alice.get("/api/v1/blocklist")).status_code == 403
    await run_jobs(app)
    outbox = (await m.t.admin.get("/api/v1/simulator/outbox")).json()["items"]
    assert len(outbox) == 1 and "unsubscribed" in outbox[0]["body"]
    # The STOP stays visible in the thread, with the automatic reply.
    cid = (await alice.get("/api/v1/conversations")).json()["items"][0]["id"]
    thread = (await alice.get(f"/api/v1/conversations/{cid}/messages")).json()["items"]
    assert [x["direction"] for x in thread] == ["out", "in"] and thread[0]["sent_by"] is None
    # A direct message from a person still goes (the blocklist is for campaigns).
    r = await alice.post("/api/v1/messages", json={"from": m.e164, "to": PHONE, "body": "ok"})
    assert r.status_code == 202
    assert (await m.inbound(PHONE, "stop please"))["action"] is None
    assert (await m.inbound(PHONE, "START"))["action"] == "opt_in"
    assert (await m.t.admin.get("/api/v1/blocklist")).json()["items"] == []
    assert (await m.inbound(PHONE, "help"))["action"] == "help"


async def test_outbound_thread_shows_the_sending_extension(tenants, app):
    m = await messaging_tenant(await tenants.make())
    (_, alice), (_, bob) = m.users
    await alice.post("/api/v1/messages", json={"from": m.e164, "to": PHONE, "body": "from alice"})
    await bob.post("/api/v1/messages", json={"from": m.e164, "to": PHONE, "body": "from bob"})
    cid = (await alice.get("/api/v1/conversations")).json()["items"][0]["id"]
    thread = (await bob.get(f"/api/v1/conversations/{cid}/messages")).json()["items"]
    assert [(x["body"], x["sent_by"]["extension"]) for x in thread] == [
        ("from bob", "202"),
        ("from alice", "201"),
    ]


async def test_message_history_filters(tenants, app):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    await m.inbound(PHONE, "in one")
    await alice.post("/api/v1/messages", json={"from": m.e164, "to": PHONE, "body": "out one"})
    got = lambda r: [x["body"] for x in r.json()["items"]]  # noqa: E731
    assert got(await alice.get("/api/v1/messages", params={"direction": "in"})) == ["in one"]
    assert got(await alice.get("/api/v1/messages", params={"direction": "out"})) == ["out one"]
    assert got(await alice.get("/api/v1/messages", params={"q": "OUT"})) == ["out one"]
    assert len(got(await alice.get("/api/v1/messages", params={"number": m.e164}))) == 2
    r = await alice.get("/api/v1/messages", params={"since": "not-a-date"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "since"


async def test_unread_totals_follow_every_change_of_unread_state(tenants, app):
    """The triggers of migration 0007 keep each user's total equal to the sum over their
    visible conversations: inbound, concurrent inbound, read, delete, return, read all."""
    import asyncio

    from sqlalchemy import func, select

    from smshub.kit.db import unit_of_work
    from smshub.models import ConversationState, UnreadTotal

    m = await messaging_tenant(await tenants.make())
    (alice_id, alice), (bob_id, bob) = m.users

    async def totals() -> dict[str, tuple[int, int]]:
        async with unit_of_work(app.state.sessions) as s:
            kept = dict((await s.execute(select(UnreadTotal.user_id, UnreadTotal.total))).all())
            summed = (
                await s.execute(
                    select(ConversationState.user_id, func.sum(ConversationState.unread))
                    .where(ConversationState.hidden.is_(False))
                    .group_by(ConversationState.user_id)
                )
            ).all()
        sums = {u: int(n) for u, n in summed}
        return {u: (kept.get(u, 0), sums.get(u, 0)) for u in (alice_id, bob_id)}

    async def api_total(client) -> int:  # type: ignore[no-untyped-def]
        return int((await client.get("/api/v1/unread")).json()["total"])

    await asyncio.gather(*(m.inbound(f"+1202555{i:04d}", f"hi {i}") for i in range(6)))
    await m.inbound("+12025550000", "again")
    assert await totals() == {alice_id: (7, 7), bob_id: (7, 7)}
    convs = (await alice.get("/api/v1/conversations")).json()["items"]
    first = next(c["id"] for c in convs if c["remote"] == "+12025550000")
    await alice.post(f"/api/v1/conversations/{first}/read")
    assert await totals() == {alice_id: (5, 5), bob_id: (7, 7)}
    other = next(c["id"] for c in convs if c["remote"] == "+12025550001")
    assert (await bob.delete(f"/api/v1/conversations/{other}")).status_code == 204
    assert await totals() == {alice_id: (5, 5), bob_id: (6, 6)}
    await m.inbound("+12025550001", "still there?")  # brings the conversation back
    assert await totals() == {alice_id: (6, 6), bob_id: (7, 7)}  # deleting cleared it
    await bob.post("/api/v1/unread/mark-all-read")
    assert await totals() == {alice_id: (6, 6), bob_id: (0, 0)}
    assert (await api_total(alice), await api_total(bob)) == (6, 0)
