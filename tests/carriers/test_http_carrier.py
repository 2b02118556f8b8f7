"""The Twilio-compatible HTTP carrier against a loopback fake, and its signed webhooks
checked with the official twilio package's RequestValidator."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from smshub.carriers.http.signing import check_twilio_signature, twilio_signature
from tests.carriers.fake_twilio import FakeTwilio
from tests.factories import TenantCtx, messaging_tenant, run_jobs

TO = "+12025550123"
SID, TOKEN = "AC" + "1" * 32, "token-" + "x" * 26


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    server = FakeTwilio()
    await server.start()
    yield server
    await server.stop()


async def http_connector(t: TenantCtx, base_url: str, **extra: Any) -> str:
    config = {"flavor": "twilio", "base_url": base_url, "account_sid": SID, "auth_token": TOKEN}
    r = await t.admin.post(
        "/api/v1/connectors",
        json={"name": "Twilio", "kind": "http", "config": {**config, **extra}},
    )
    assert r.status_code == 201, r.text
    assert "auth_token" not in r.json()["config"]
    return str(r.json()["id"])


async def setup(tenants, base_url: str):
    m = await messaging_tenant(await tenants.make())
    cid = await http_connector(m.t, base_url)
    r = await m.t.admin.patch(f"/api/v1/numbers/{m.number['id']}", json={"connector_id": cid})
    assert r.status_code == 200, r.text
    return m, cid


async def send(m, body: str = "Hello") -> str:
    _, alice = m.users[0]
    r = await alice.post("/api/v1/messages", json={"from": m.e164, "to": TO, "body": body})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def signed(url: str, params: dict[str, str], token: str = TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}


# -- signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"From": "+12025550123", "To": "+14155550100", "Body": "Hi € 😀"},
        {"b": "2", "a": "1", "A": "0", "MessageSid": "SM1"},
    ],
)
def test_signature_matches_twilio_request_validator(params):
    url = "https://sms.example.com/api/v1/carriers/http/c1/inbound?x=1"
    theirs = RequestValidator(TOKEN).compute_signature(url, params)
    assert twilio_signature(url, params.items(), TOKEN) == theirs
    assert check_twilio_signature(url, params.items(), TOKEN, theirs)
    assert not check_twilio_signature(url, params.items(), "other", theirs)
    assert not check_twilio_signature(url + "&y", params.items(), TOKEN, theirs)
    assert not check_twilio_signature(url, params.items(), TOKEN, None)


# -- outbound ---------------------------------------------------------------------------


async def test_submit_with_basic_auth_then_signed_status_callback(tenants, app, fake):
    m, cid = await setup(tenants, f"http://127.0.0.1:{fake.port}")
    mid = await send(m, "Hello €")
    await run_jobs(app)
    [req] = fake.requests
    assert req["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert req["auth"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert req["form"] == {"From": m.e164, "To": TO, "Body": "Hello €"}
    _, alice = m.users[0]
    msg = (await alice.get(f"/api/v1/messages/{mid}")).json()
    assert msg["status"] == "sent"
    url = f"http://test/api/v1/carriers/http/{cid}/status"
    params = {"MessageSid": "SM" + "0" * 31 + "1", "MessageStatus": "delivered"}
    anon = tenants.anonymous()
    r = await anon.post(url, data=params, headers=signed(url, params))
    assert r.status_code == 204, r.text
    assert (await alice.get(f"/api/v1/messages/{mid}")).json()["status"] == "delivered"


async def test_a_campaign_under_a_sender_id_submits_it_as_from(tenants, app, fake):
    m, _ = await setup(tenants, f"http://127.0.0.1:{fake.port}")
    r = await m.t.admin.patch(f"/api/v1/numbers/{m.number['id']}", json={"sender_ids": ["ACME"]})
    assert r.status_code == 200, r.text
    list_id = (await m.t.admin.post("/api/v1/lists", json={"name": "L"})).json()["id"]
    r = await m.t.admin.post(f"/api/v1/lists/{list_id}/entries", json={"e164": TO})
    assert r.status_code == 201, r.text
    body = {
        "name": "P",
        "sender_type": "sender_id",
        "from": "ACME",
        "body": "Sale",
        "list_id": list_id,
    }
    camp = (await m.t.admin.post("/api/v1/campaigns", json=body)).json()
    assert (await m.t.admin.post(f"/api/v1/campaigns/{camp['id']}/start")).status_code == 200
    await run_jobs(app)
    [req] = fake.requests
    assert req["form"] == {"From": "ACME", "To": TO, "Body": "Sale"}


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [(429, "queued", "429"), (503, "queued", "503"), (400, "failed", "400")],
)
async def test_carrier_refusals(tenants, app, fake, code, status, error):
    fake.decide = lambda n: code
    m, _ = await setup(tenants, f"http://127.0.0.1:{fake.port}")
    mid = await send(m)
    await run_jobs(app)
    _, alice = m.users[0]
    msg = (await alice.get(f"/api/v1/messages/{mid}")).json()
    assert msg["status"] == status and len(fake.requests) == 1
    if status == "failed":
        assert error in msg["error"]


def test_retry_after_reads_seconds_and_dates():
    from datetime import UTC, datetime

    from smshub.carriers.http.base import retry_after_s

    now = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
    assert retry_after_s("120", now) == 120.0
    assert retry_after_s(" 7 ", now) == 7.0
    assert retry_after_s("Sun, 29 Nov 2026 12:01:30 GMT", now) == 90.0
    assert retry_after_s("Sun, 29 Nov 2026 11:00:00 GMT", now) == 0.0  # already past
    assert retry_after_s("99999999", now) == 3600.0  # capped
    for bad in (None, "", "soon", "-5", "1.5e3"):
        assert retry_after_s(bad, now) is None, bad


async def test_a_429_with_retry_after_waits_that_long(tenants, app, fake):
    from datetime import UTC, datetime

    from sqlalchemy import select

    from smshub.kit.db import unit_of_work
    from smshub.models import Job

    fake.decide = lambda n: 429
    fake.retry_after = "120"
    m, _ = await setup(tenants, f"http://127.0.0.1:{fake.port}")
    mid = await send(m)
    await run_jobs(app)
    async with unit_of_work(app.state.sessions) as s:
        jobs = (await s.execute(select(Job).where(Job.status == "pending"))).scalars().all()
    [retry] = [j for j in jobs if j.payload.get("message_id") == mid]
    wait = (retry.run_at - datetime.now(UTC)).total_seconds()
    assert 110 < wait <= 120, wait


async def test_carrier_unreachable_is_transient(tenants, app):
    m, _ = await setup(tenants, "http://127.0.0.1:1")
    mid = await send(m)
    await run_jobs(app)
    _, alice = m.users[0]
    assert (await alice.get(f"/api/v1/messages/{mid}")).json()["status"] == "queued"


async def test_throttling_never_fails_a_message(tenants, app, fake):
    from smshub.carriers.base import ThrottledCarrierError
    from smshub.kit.db import unit_of_work
    from smshub.messaging import service
    from smshub.models import Message

    m, _ = await setup(tenants, f"http://127.0.0.1:{fake.port}")
    mid = await send(m)
    async with unit_of_work(app.state.sessions) as s:
        message = await s.get(Message, mid)
        assert message is not None
        await service.retry_later(s, message, 1000, ThrottledCarrierError("HTTP 429"))
    _, alice = m.users[0]
    assert (await alice.get(f"/api/v1/messages/{mid}")).json()["status"] == "queued"


# -- inbound webhooks -------------------------------------------------------------------


async def test_signed_inbound_lands_in_the_tenant(tenants, app, fake):
    m, cid = await setup(tenants, f"http://127.0.0.1:{fake.port}")
    url = f"http://test/api/v1/carriers/http/{cid}/inbound"
    params = {"From": TO, "To": m.e164, "Body": "Hi there 😀", "MessageSid": "SMin1"}
    anon = tenants.anonymous()
    r = await anon.post(url, data=params, headers=signed(url, params))
    assert r.status_code == 200 and "<Response>" in r.text
    r = await anon.post(url, data=params, headers=signed(url, params))  # a redelivery
    assert r.status_code == 200
    _, alice = m.users[0]
    got = (await alice.get("/api/v1/messages", params={"direction": "in"})).json()["items"]
    assert [(x["from"], x["body"]) for x in got] == [(TO, "Hi there 😀")]


async def test_webhooks_refuse_bad_signatures_and_bad_input(tenants, app, fake):
    m, cid = await setup(tenants, f"http://127.0.0.1:{fake.port}")
    anon = tenants.anonymous()
    for hook in ("inbound", "status"):
        url = f"http://test/api/v1/carriers/http/{cid}/{hook}"
        params = {"From": TO, "To": m.e164, "Body": "x", "MessageSid": "SM1"}
        r = await anon.post(url, data=params)
        assert r.status_code == 403 and r.json()["error"]["code"] == "bad_signature"
        r = await anon.post(url, data=params, headers=signed(url, params, "wrong-token"))
        assert r.status_code == 403
        tampered = {**params, "Body": "changed"}
        r = await anon.post(url, data=tampered, headers=signed(url, params))
        assert r.status_code == 403
    url = f"http://test/api/v1/carriers/http/{cid}/inbound"
    r = await anon.post(url, data={"To": m.e164}, headers=signed(url, {"To": m.e164}))
    assert r.status_code == 422 and r.json()["error"]["field"] == "From"
    url = f"http://test/api/v1/carriers/http/{cid}/status"
    bad = {"MessageSid": "SM1", "MessageStatus": "exploded"}
    r = await anon.post(url, data=bad, headers=signed(url, bad))
    assert r.status_code == 422 and r.json()["error"]["field"] == "MessageStatus"
    url = "http://test/api/v1/carriers/http/nope/inbound"
    assert (await anon.post(url, data={}, headers=signed(url, {}))).status_code == 404


async def test_inbound_through_one_tenants_connector_cannot_reach_another(tenants, app, fake):
    _, cid = await setup(tenants, f"http://127.0.0.1:{fake.port}")
    b = await messaging_tenant(await tenants.make(), e164="+14155550177")
    url = f"http://test/api/v1/carriers/http/{cid}/inbound"
    params = {"From": TO, "To": b.e164, "Body": "sneaky", "MessageSid": "SMx"}
    r = await tenants.anonymous().post(url, data=params, headers=signed(url, params))
    assert r.status_code == 200
    _, bob = b.users[0]
    got = (await bob.get("/api/v1/messages", params={"direction": "in"})).json()["items"]
    assert got == []


async def test_bad_http_config_is_a_clear_422(tenants):
    t = await tenants.make()
    for config, field in [
        ({"flavor": "carrier-pigeon"}, "config.flavor"),
        ({"flavor": "twilio", "account_sid": "AC1"}, "config.auth_token"),
        ({"account_sid": "AC1", "auth_token": "t", "base_url": "not a url"}, "config.base_url"),
        ({"flavor": "get", "url_template": "ftp://x"}, "config.url_template"),
    ]:
        r = await t.admin.post(
            "/api/v1/connectors", json={"name": "H", "kind": "http", "config": config}
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field, r.json()


# -- where a tenant's HTTP carrier may connect (SSRF) ---------------------------------------


async def test_a_tenant_connector_never_reaches_a_link_local_address(tenants, app):
    """169.254.169.254 is the cloud metadata service. Typed as an address, it is a clear
    422; reached any other way (a name that resolves there, say), it is refused before
    any connect, and the message waits for a retry (or the fallback) with the reason in
    the connector's health."""
    from smshub.kit.db import unit_of_work
    from smshub.models import Connector

    m, cid = await setup(tenants, "https://carrier.example")
    bad_get = {"flavor": "get", "url_template": "http://[fe80::1]/s?to={TO}"}
    for field, r in (
        (
            "base_url",
            await m.t.admin.patch(
                f"/api/v1/connectors/{cid}",
                json={"config": {"base_url": "http://169.254.169.254:1"}},
            ),
        ),
        (
            "url_template",
            await m.t.admin.post(
                "/api/v1/connectors", json={"name": "GET", "kind": "http", "config": bad_get}
            ),
        ),
    ):
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == f"config.{field}", r.text
        assert "link-local" in r.json()["error"]["message"], r.text
    async with unit_of_work(app.state.sessions) as s:
        connector = await s.get(Connector, cid)
        assert connector is not None
        connector.config = {**connector.config, "base_url": "http://169.254.169.254:1"}
    mid = await send(m)
    await run_jobs(app)
    _, alice = m.users[0]
    assert (await alice.get(f"/api/v1/messages/{mid}")).json()["status"] == "queued"
    health = (await m.t.admin.get(f"/api/v1/connectors/{cid}")).json()["health"]
    assert "169.254.169.254: a link-local address" in health["last_error"], health


async def test_blocking_private_addresses_guards_tenant_connectors_not_system_ones(
    tenants, app, fake
):
    from smshub.kit.db import unit_of_work
    from smshub.models import Connector

    app.state.settings = app.state.settings.model_copy(update={"forward_block_private": True})
    m, cid = await setup(tenants, f"http://127.0.0.1:{fake.port}")
    refused = await send(m, "to loopback")
    await run_jobs(app)
    _, alice = m.users[0]
    assert (await alice.get(f"/api/v1/messages/{refused}")).json()["status"] == "queued"
    health = (await m.t.admin.get(f"/api/v1/connectors/{cid}")).json()["health"]
    assert "a private or loopback address" in health["last_error"], health
    assert fake.requests == []
    # The same URL on a system-wide connector (the operator's own) is allowed.
    async with unit_of_work(app.state.sessions) as s:
        connector = await s.get(Connector, cid)
        assert connector is not None
        connector.tenant_id = None
    allowed = await send(m, "operator's carrier")
    await run_jobs(app)
    assert [r["form"]["Body"] for r in fake.requests] == ["operator's carrier"]
    assert (await alice.get(f"/api/v1/messages/{allowed}")).json()["status"] == "sent"
