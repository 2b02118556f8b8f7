"""SMPP through the whole app: API send -> job -> bind -> loopback SMSC, receipts back to
messages, inbound concatenated messages, failover to a fallback connector."""

from __future__ import annotations

import asyncio
from typing import Any

from smshub.carriers.smpp.registry import links
from tests.carriers.smsc import Smsc
from tests.factories import TenantCtx, messaging_tenant, run_jobs

TO = "+12025550123"


def smpp_config(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "system_id": "esme",
        "password": "secret",
        "window": 10,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.2,
        "response_timeout_s": 1,
        "submit_timeout_s": 10,
        **extra,
    }


async def smpp_connector(t: TenantCtx, port: int, name: str = "SMSC") -> str:
    r = await t.admin.post(
        "/api/v1/connectors",
        json={"name": name, "kind": "smpp", "config": smpp_config(port), "throughput": 0},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert "password" not in body["config"]  # secrets never come back
    return str(body["id"])


async def setup(tenants, port: int, **number: Any):
    m = await messaging_tenant(await tenants.make())
    cid = await smpp_connector(m.t, port)
    r = await m.t.admin.patch(
        f"/api/v1/numbers/{m.number['id']}", json={"connector_id": cid, **number}
    )
    assert r.status_code == 200, r.text
    return m, cid


async def send(client, m, body: str) -> str:
    r = await client.post("/api/v1/messages", json={"from": m.e164, "to": TO, "body": body})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


async def test_send_receipts_hex_and_decimal_map_back(tenants, app, smsc: Smsc):
    m, cid = await setup(tenants, smsc.port)
    _, alice = m.users[0]
    ids = [await send(alice, m, "Hello €"), await send(alice, m, "Hi 😀")]
    ids.append(await send(alice, m, "x" * 400))  # 3 segments
    await run_jobs(app)
    msgs = [(await alice.get(f"/api/v1/messages/{i}")).json() for i in ids]
    assert [x["status"] for x in msgs] == ["sent"] * 3
    assert len(smsc.submits) == 5
    assert smsc.submits[0].short_message == b"Hello \x1be"
    assert smsc.submits[1].data_coding == 8
    hex_ids = [s.message_id for s in smsc.submits]
    # Receipt 1 names the id in decimal, receipt 2 in hex via TLVs, receipt 3 (the long
    # message's last part) as given; an earlier part's receipt changes nothing.
    assert await smsc.receipt(str(int(hex_ids[0], 16))) == 0
    assert await smsc.receipt("ignored", receipted_message_id=hex_ids[1], message_state=5) == 0
    assert await smsc.receipt(hex_ids[2]) == 0  # first part of the long one
    mid = (await alice.get(f"/api/v1/messages/{ids[2]}")).json()
    assert mid["status"] == "sent"
    assert await smsc.receipt(hex_ids[4]) == 0
    msgs = [(await alice.get(f"/api/v1/messages/{i}")).json() for i in ids]
    assert [x["status"] for x in msgs] == ["delivered", "failed", "delivered"]
    conn = (await m.t.admin.get(f"/api/v1/connectors/{cid}")).json()
    assert conn["health"]["status"] == "bound"


async def test_inbound_three_parts_out_of_order(tenants, app, smsc: Smsc):
    m, _cid = await setup(tenants, smsc.port)
    await run_jobs(app)  # installs the links
    await links.start_all()
    await asyncio.wait_for(smsc.bound_event.wait(), 5)
    parts = ["Part one, ", "part two, ", "part three."]
    for seq in (3, 1, 2, 1):  # out of order, with a duplicate
        udh = bytes((5, 0, 3, 0x2A, 3, seq))
        status = await smsc.deliver(
            source_addr=TO.lstrip("+"),
            destination_addr=m.e164.lstrip("+"),
            esm_class=0x40,
            short_message=udh + parts[seq - 1].encode(),
        )
        assert status == 0
    _, alice = m.users[0]
    got = (await alice.get("/api/v1/messages", params={"direction": "in"})).json()["items"]
    assert [x["body"] for x in got] == ["".join(parts)]
    assert got[0]["from"] == TO


async def test_failover_to_fallback_and_back(tenants, app):
    primary = Smsc()
    port = await primary.start()
    await primary.stop()  # the primary SMSC is down
    m, cid = await setup(tenants, port)
    r = await m.t.admin.patch(
        f"/api/v1/numbers/{m.number['id']}", json={"fallback_connector_id": m.connector_id}
    )
    assert r.status_code == 200, r.text
    _, alice = m.users[0]
    first = await send(alice, m, "while primary is down")
    await run_jobs(app)
    msg = (await alice.get(f"/api/v1/messages/{first}")).json()
    assert msg["status"] in ("sent", "delivered")
    outbox = (await m.t.admin.get("/api/v1/simulator/outbox")).json()["items"]
    assert [o["message_id"] for o in outbox] == [first]  # the fallback (simulator) sent it
    await primary.start(port)  # the primary comes back
    link = links.links[cid]
    assert await link.wait_bound(5)
    second = await send(alice, m, "primary is back")
    await run_jobs(app)
    assert (await alice.get(f"/api/v1/messages/{second}")).json()["status"] == "sent"
    assert [s.short_message for s in primary.submits] == [b"primary is back"]
    await primary.stop()


async def test_fallback_must_be_a_visible_connector(tenants):
    m = await messaging_tenant(await tenants.make())
    r = await m.t.admin.patch(
        f"/api/v1/numbers/{m.number['id']}", json={"fallback_connector_id": "01" + "X" * 24}
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "fallback_connector_id"


async def test_bad_smpp_config_is_a_clear_422(tenants):
    t = await tenants.make()
    for config, field in [
        ({"port": 2775, "system_id": "x"}, "config.host"),
        ({"host": "h", "system_id": "x", "window": 0}, "config.window"),
        ({"host": "h", "system_id": "x", "password": "123456789"}, "config.password"),
        ({"host": "h", "system_id": "x", "nope": 1}, "config.nope"),
    ]:
        r = await t.admin.post(
            "/api/v1/connectors", json={"name": "S", "kind": "smpp", "config": config}
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field, r.json()


async def test_receipt_in_data_sm_maps_back(tenants, app, smsc: Smsc):
    m, _ = await setup(tenants, smsc.port)
    _, alice = m.users[0]
    mid = await send(alice, m, "receipt by data_sm")
    await run_jobs(app)
    [sub] = smsc.submits
    status = await smsc.deliver(
        command="data_sm",
        source_addr="12025550123",
        destination_addr="14155550100",
        esm_class=0x04,
        receipted_message_id=sub.message_id,
        message_state=2,
    )
    assert status == 0
    assert (await alice.get(f"/api/v1/messages/{mid}")).json()["status"] == "delivered"


async def test_only_one_process_holds_the_bind(clean_db, smsc: Smsc):
    """Two registries (as two worker processes) on one database: on PostgreSQL the
    advisory lock lets one bind; the other stands by and refuses, so it can fail over."""
    from smshub.carriers.smpp.carrier import SmppCarrier
    from smshub.carriers.smpp.registry import Links
    from smshub.kit.db import create_engine, session_factory
    from tests.carriers.test_smpp_link import sms

    engines = [create_engine(clean_db), create_engine(clean_db)]
    registries = [Links(), Links()]
    for reg, eng in zip(registries, engines, strict=True):
        reg.install(session_factory(eng))
    try:
        config = smpp_config(smsc.port)
        first = registries[0].link_for("c1", config)
        first.start()
        assert await first.wait_bound(5)
        second = registries[1].link_for("c1", config)
        second.start()
        await asyncio.sleep(0.5)
        if clean_db.startswith("postgresql"):
            assert not second.bound and second.standby and smsc.binds == 1
            [refused] = await SmppCarrier("c1", second).submit_many(None, [sms(1, "x")])  # type: ignore[arg-type]
            assert "another process" in str(refused)
            await registries[0].close_all()  # the owner goes away: the other takes over
            assert await second.wait_bound(10)
            assert smsc.binds == 2
    finally:
        for reg in registries:
            await reg.close_all()
        for eng in engines:
            await eng.dispose()


async def test_an_incomplete_long_message_is_delivered_as_far_as_it_got(tenants, app):
    from smshub.carriers.smpp import pdu as p
    from smshub.carriers.smpp.registry import Links
    from smshub.kit.clock import FakeClock

    m = await messaging_tenant(await tenants.make())
    clock = FakeClock()
    reg = Links()
    reg.install(app.state.sessions, clock)

    def deliver(text: bytes, esm: int = 0) -> p.Pdu:
        return p.make(
            "deliver_sm",
            1,
            source_addr=TO.lstrip("+"),
            destination_addr=m.e164.lstrip("+"),
            esm_class=esm,
            data_coding=0,
            short_message=text,
        )

    assert await reg.on_deliver("c1", deliver(bytes((5, 0, 3, 9, 2, 1)) + b"first half", 0x40)) == 0
    clock.advance(301)  # part 2 never comes
    assert await reg.on_deliver("c1", deliver(b"next message")) == 0
    _, alice = m.users[0]
    got = (await alice.get("/api/v1/messages", params={"direction": "in"})).json()["items"]
    assert sorted(x["body"] for x in got) == ["first half", "next message"]
    # With no traffic after it, the periodic sweep delivers it, once.
    assert await reg.on_deliver("c1", deliver(bytes((5, 0, 3, 8, 2, 1)) + b"lonely", 0x40)) == 0
    await reg.sweep("c1")
    clock.advance(301)
    await reg.sweep("c1")
    await reg.sweep("c1")
    got = (await alice.get("/api/v1/messages", params={"direction": "in"})).json()["items"]
    assert sorted(x["body"] for x in got) == ["first half", "lonely", "next message"]


async def test_transmitter_and_receiver_pair(tenants, app, smsc: Smsc):
    m = await messaging_tenant(await tenants.make())
    r = await m.t.admin.post(
        "/api/v1/connectors",
        json={"name": "pair", "kind": "smpp", "config": smpp_config(smsc.port, bind="pair")},
    )
    assert r.status_code == 201, r.text
    r = await m.t.admin.patch(
        f"/api/v1/numbers/{m.number['id']}", json={"connector_id": r.json()["id"]}
    )
    _, alice = m.users[0]
    mid = await send(alice, m, "over the transmitter")
    await run_jobs(app)
    assert sorted(smsc.bind_kinds) == ["bind_receiver", "bind_transmitter"]
    assert (await alice.get(f"/api/v1/messages/{mid}")).json()["status"] == "sent"
    assert await smsc.receipt(smsc.submits[0].message_id) == 0  # arrives on the receiver
    assert (await alice.get(f"/api/v1/messages/{mid}")).json()["status"] == "delivered"


async def test_a_long_message_split_by_a_restart_arrives_whole(tenants, app):
    """Part 1 is acknowledged by one process, part 2 reaches the next: nothing is lost
    and the message is stored once."""
    from smshub.carriers.smpp import pdu as p
    from smshub.carriers.smpp.registry import Links

    m = await messaging_tenant(await tenants.make())

    def part(seq: int, text: bytes) -> p.Pdu:
        udh = bytes((5, 0, 3, 7, 2, seq))
        return p.make(
            "deliver_sm",
            seq,
            source_addr=TO.lstrip("+"),
            destination_addr=m.e164.lstrip("+"),
            esm_class=0x40,
            data_coding=0,
            short_message=udh + text,
        )

    before = Links()
    before.install(app.state.sessions)
    assert await before.on_deliver("c1", part(1, b"Hello ")) == 0
    after = Links()  # a new process: nothing of `before` survives but the database
    after.install(app.state.sessions)
    assert await after.on_deliver("c1", part(2, b"world")) == 0
    assert await after.on_deliver("c1", part(2, b"world")) == 0  # the SMSC repeats it
    _, alice = m.users[0]
    got = (await alice.get("/api/v1/messages", params={"direction": "in"})).json()["items"]
    assert [x["body"] for x in got] == ["Hello world"]
