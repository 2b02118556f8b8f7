"""URL callbacks with retry and signed webhooks, against real HTTP receivers on loopback,
driven by a controllable clock."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI

from smshub.carriers.simulator import tasks as simulator_tasks
from smshub.forwarding import tasks as forwarding_tasks
from smshub.kit.clock import FakeClock
from smshub.kit.jobs import JobRegistry, JobRunner
from smshub.messaging import tasks as messaging_tasks
from smshub.worker import create_worker
from tests.factories import messaging_tenant
from tests.peers import http_receiver

PHONE = "+12025550123"


def _runner(app: FastAPI, clock: FakeClock) -> JobRunner:
    registry = JobRegistry()
    messaging_tasks.register(registry)
    simulator_tasks.register(registry)
    forwarding_tasks.register(registry, app.state.settings, clock, rand=lambda: 1.0)
    return create_worker(app.state.settings, app.state.sessions, registry, clock=clock)


def _clock() -> FakeClock:
    # A little ahead of real time, so jobs enqueued at real "now" are already due.
    return FakeClock(datetime.now(UTC) + timedelta(minutes=10))


async def _callback(m: Any, template: str, **extra: Any) -> None:
    r = await m.t.admin.put(
        f"/api/v1/numbers/{m.number['id']}/forwarding",
        json={"url_callback": {"template": template, **extra}},
    )
    assert r.status_code == 200, r.text


async def test_callback_retries_until_exact_ok(fapp, ftenants):
    m = await messaging_tenant(await ftenants.make())
    clock = _clock()
    runner = _runner(fapp, clock)
    with http_receiver([(200, "error"), (500, "oops"), (200, "ok\n")]) as peer:
        await _callback(
            m,
            peer.url + "/cb?id={ID}&ts={TIMESTAMP}&from={FROM}&to={TO}&msg={MESSAGE}",
            retry_interval_s=600,
            max_attempts=5,
        )
        got = await m.inbound(PHONE, "Hi & bye? 100%")
        for _ in range(6):
            await runner.run_until_idle()
            clock.advance(600)
        await runner.run_until_idle()
        assert len(peer.requests) == 3
        query = parse_qs(urlsplit(peer.requests[0].path).query)
        assert query == {
            "id": [got["message_id"]],
            "ts": [query["ts"][0]],
            "from": [PHONE],
            "to": [m.e164],
            "msg": ["Hi & bye? 100%"],
        }
    r = await m.t.admin.get(f"/api/v1/numbers/{m.number['id']}/callback-attempts")
    attempts = sorted(r.json()["items"], key=lambda a: a["attempt"])
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in attempts] == [
        (1, "retry", 200),
        (2, "retry", 500),
        (3, "done", 200),
    ]
    times = [datetime.fromisoformat(a["at"]) for a in attempts]
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(times)] == [600, 600]


async def test_callback_gives_up_at_the_cap_and_retry_off_tries_once(fapp, ftenants):
    m = await messaging_tenant(await ftenants.make())
    clock = _clock()
    runner = _runner(fapp, clock)
    with http_receiver([(200, "error")]) as peer:
        await _callback(m, peer.url + "/cb?m={MESSAGE}", retry_interval_s=60, max_attempts=2)
        await m.inbound(PHONE, "one")
        for _ in range(5):
            await runner.run_until_idle()
            clock.advance(60)
        assert len(peer.requests) == 2
        await _callback(m, peer.url + "/cb?m={MESSAGE}", retry=False)
        await m.inbound(PHONE, "two")
        for _ in range(3):
            await runner.run_until_idle()
            clock.advance(1800)
        assert len(peer.requests) == 3
    r = await m.t.admin.get(f"/api/v1/numbers/{m.number['id']}/callback-attempts")
    outcomes = sorted((a["attempt"], a["outcome"]) for a in r.json()["items"])
    assert outcomes == [(1, "done"), (1, "retry"), (2, "failed")]


def _independent_check(secret: str, header: str, body: bytes) -> bool:
    """Written from the documented algorithm, not from our code."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(
        secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


async def test_webhooks_are_signed_retried_with_backoff_and_replayable(fapp, ftenants):
    m = await messaging_tenant(await ftenants.make())
    clock = _clock()
    runner = _runner(fapp, clock)
    with http_receiver([(503, "busy"), (200, "thanks")]) as peer:
        r = await m.t.admin.post(
            "/api/v1/webhooks",
            json={"url": peer.url + "/hook", "events": ["message.received"]},
        )
        assert r.status_code == 201, r.text
        hook = r.json()
        secret = hook["secret"]
        assert "secret" not in (await m.t.admin.get(f"/api/v1/webhooks/{hook['id']}")).json()
        got = await m.inbound(PHONE, "Hook me")
        await runner.run_until_idle()
        assert len(peer.requests) == 1
        deliveries = (await m.t.admin.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()
        (d,) = deliveries["items"]
        assert (d["status"], d["attempts"], d["last_status_code"]) == ("pending", 1, 503)
        # Backoff with jitter: the first retry waits 15-30 s (rand=1.0 here: 30 s).
        delay = datetime.fromisoformat(d["next_attempt_at"]) - clock.now()
        assert delay.total_seconds() == 30
        clock.advance(29)
        await runner.run_until_idle()
        assert len(peer.requests) == 1
        clock.advance(1)
        await runner.run_until_idle()
        assert len(peer.requests) == 2
        first, second = peer.requests
        assert first.body == second.body
        for req in (first, second):
            header = req.headers["X-Smshub-Signature"]
            assert _independent_check(secret, header, req.body)
            assert not _independent_check(secret + "x", header, req.body)
        event = json.loads(second.body)
        assert event["type"] == "message.received"
        assert set(event) == {"id", "type", "created_at", "data"}
        assert event["data"]["id"] == got["message_id"] and event["data"]["body"] == "Hook me"
        d = (await m.t.admin.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()["items"][0]
        assert (d["status"], d["attempts"]) == ("delivered", 2)
        r = await m.t.admin.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{d['id']}/replay")
        assert r.status_code == 202 and r.json()["replays"] == 1
        await runner.run_until_idle()
        assert len(peer.requests) == 3 and peer.requests[2].body == first.body


async def test_webhook_gives_up_after_24_hours(fapp, ftenants):
    m = await messaging_tenant(await ftenants.make())
    clock = _clock()
    runner = _runner(fapp, clock)
    with http_receiver([(500, "down")]) as peer:
        r = await m.t.admin.post(
            "/api/v1/webhooks", json={"url": peer.url, "events": ["message.received"]}
        )
        hook = r.json()
        await m.inbound(PHONE, "x")
        for _ in range(200):
            await runner.run_until_idle()
            clock.advance(600)
        tries = len(peer.requests)
    d = (await m.t.admin.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()["items"][0]
    assert d["status"] == "failed" and d["attempts"] == tries
    # 30 s doubling to the 4-hour cap, within 24 hours: 12 tries.
    assert 8 <= tries <= 14


async def test_status_events_reach_subscribers(fapp, ftenants):
    m = await messaging_tenant(await ftenants.make())
    clock = _clock()
    runner = _runner(fapp, clock)
    with http_receiver([(200, "ok")]) as peer:
        await m.t.admin.post(
            "/api/v1/webhooks", json={"url": peer.url, "events": ["message.status"]}
        )
        _, alice = m.users[0]
        r = await alice.post(
            "/api/v1/messages", json={"from": m.e164, "to": PHONE, "body": "status please"}
        )
        assert r.status_code in (200, 201, 202), r.text
        for _ in range(3):
            await runner.run_until_idle()
            clock.advance(5)
        statuses = [json.loads(x.body)["data"]["status"] for x in peer.requests]
    # Deliveries run concurrently, so they may arrive in any order.
    assert {"sending", "sent"} <= set(statuses) and len(statuses) == len(set(statuses))
    assert all(json.loads(x.body)["type"] == "message.status" for x in peer.requests)


async def test_replay_makes_a_scheduled_retry_stale(fapp, ftenants):
    m = await messaging_tenant(await ftenants.make())
    clock = _clock()
    runner = _runner(fapp, clock)
    with http_receiver([(503, "busy"), (503, "busy"), (200, "ok")]) as peer:
        hook = (
            await m.t.admin.post(
                "/api/v1/webhooks", json={"url": peer.url, "events": ["message.received"]}
            )
        ).json()
        await m.inbound(PHONE, "x")
        await runner.run_until_idle()
        base = f"/api/v1/webhooks/{hook['id']}/deliveries"
        (d,) = (await m.t.admin.get(base)).json()["items"]
        assert (d["status"], d["attempts"]) == ("pending", 1)
        r = await m.t.admin.post(f"{base}/{d['id']}/replay")
        assert r.json()["attempts"] == 0 and r.json()["replays"] == 1
        await runner.run_until_idle()  # the replay's try: 503 again, a new retry scheduled
        clock.advance(30)
        await runner.run_until_idle()  # the old retry is stale; the replay's retry runs
        assert len(peer.requests) == 3
        (d,) = (await m.t.admin.get(base)).json()["items"]
        assert (d["status"], d["attempts"], d["replays"]) == ("delivered", 2, 1)
        clock.advance(3600)
        await runner.run_until_idle()
        assert len(peer.requests) == 3


async def test_private_destinations_are_refused_when_blocked(fapp, ftenants):
    """SMSHUB_FORWARD_BLOCK_PRIVATE: a callback to a loopback receiver never connects and
    its attempt says why; a metadata address is refused even with the setting off."""
    m = await messaging_tenant(await ftenants.make())
    clock = _clock()
    fapp.state.settings = fapp.state.settings.model_copy(update={"forward_block_private": True})
    runner = _runner(fapp, clock)
    with http_receiver([(200, "ok")]) as peer:
        await _callback(m, peer.url + "/cb?m={MESSAGE}", retry=False)
        await m.inbound(PHONE, "secret")
        await runner.run_until_idle()
        assert peer.requests == []
    r = await m.t.admin.get(f"/api/v1/numbers/{m.number['id']}/callback-attempts")
    [attempt] = r.json()["items"]
    assert attempt["outcome"] == "failed" and "private or loopback" in attempt["error"]


def test_destination_rules():
    from ipaddress import ip_address

    from smshub.kit.destinations import refusal

    for always in ("169.254.169.254", "fe80::1", "::ffff:169.254.169.254", "224.0.0.1", "0.0.0.0"):
        assert refusal(ip_address(always), block_private=False), always
    for private in ("127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.0.1", "::1", "fc00::1"):
        assert refusal(ip_address(private), block_private=False) is None, private
        assert refusal(ip_address(private), block_private=True), private
    for public in ("8.8.8.8", "2606:4700::1111", "93.184.216.34"):
        assert refusal(ip_address(public), block_private=True) is None, public
