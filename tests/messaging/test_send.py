"""Sending through the simulator: states, receipts, retry, idempotency, bad input."""

from __future__ import annotations

import pytest

from tests.factories import messaging_tenant, run_jobs

TO = "+12025550123"


async def test_send_goes_queued_sent_delivered_and_lands_once(tenants, app):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    r = await alice.post("/api/v1/messages", json={"from": m.e164, "to": TO, "body": "Hello €"})
    assert r.status_code == 202, r.text
    acc = r.json()
    assert (acc["status"], acc["encoding"], acc["segments"]) == ("queued", "GSM-7", 1)
    assert (await run_jobs(app)) >= 2  # the send, then the receipt
    msg = (await alice.get(f"/api/v1/messages/{acc['id']}")).json()
    assert msg["status"] == "delivered" and msg["sent_at"] and msg["delivered_at"]
    assert msg["from"] == m.e164 and msg["to"] == TO and msg["sent_by"]["extension"] == "201"
    outbox = (await m.t.admin.get("/api/v1/simulator/outbox", params={"to": TO})).json()["items"]
    assert [(o["message_id"], o["body"]) for o in outbox] == [(acc["id"], "Hello €")]
    assert (await run_jobs(app)) == 0


async def test_ucs2_and_long_messages_report_segments(tenants):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    r = await alice.post("/api/v1/messages", json={"from": m.e164, "to": TO, "body": "Hi 😀"})
    assert (r.json()["encoding"], r.json()["segments"]) == ("UCS-2", 1)
    r = await alice.post("/api/v1/messages", json={"from": m.e164, "to": TO, "body": "a" * 161})
    assert (r.json()["encoding"], r.json()["segments"]) == ("GSM-7", 2)
    # Smart encoding keeps curly quotes GSM-7 by default.
    r = await alice.post("/api/v1/messages", json={"from": m.e164, "to": TO, "body": "“ok”"})
    assert r.json()["encoding"] == "GSM-7"


async def test_failed_message_can_be_retried(tenants, app):
    m = await messaging_tenant(await tenants.make(), failure_rate=1.0)
    _, alice = m.users[0]
    mid = (
        await alice.post("/api/v1/messages", json={"from": m.e164, "to": TO, "body": "x"})
    ).json()["id"]
    await run_jobs(app)
    msg = (await alice.get(f"/api/v1/messages/{mid}")).json()
    assert msg["status"] == "failed" and "absent subscriber" in msg["error"]
    r = await m.t.admin.patch(
        f"/api/v1/connectors/{m.connector_id}", json={"config": {"failure_rate": 0}}
    )
    assert r.status_code == 200
    r = await alice.post(f"/api/v1/messages/{mid}/retry")
    assert r.status_code == 200 and r.json()["status"] == "queued"
    await run_jobs(app)
    assert (await alice.get(f"/api/v1/messages/{mid}")).json()["status"] == "delivered"
    outbox = (await m.t.admin.get("/api/v1/simulator/outbox")).json()["items"]
    assert len(outbox) == 2  # the network saw both attempts
    r = await alice.post(f"/api/v1/messages/{mid}/retry")
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_retryable"


async def test_idempotency_key_returns_the_first_message(tenants, app):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    body = {"from": m.e164, "to": TO, "body": "once"}
    h = {"Idempotency-Key": "abc-1"}
    a = (await alice.post("/api/v1/messages", json=body, headers=h)).json()
    b = (await alice.post("/api/v1/messages", json=body, headers=h)).json()
    assert a["id"] == b["id"]
    await run_jobs(app)
    assert len((await m.t.admin.get("/api/v1/simulator/outbox")).json()["items"]) == 1


async def test_an_over_long_idempotency_key_is_refused_naming_the_header(tenants, app):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    h = {"Idempotency-Key": "k" * 121}
    for path, body in [
        ("/api/v1/messages", {"from": m.e164, "to": TO, "body": "x"}),
        ("/api/v1/click-to-sms", {"to": TO, "body": "x"}),
    ]:
        r = await alice.post(path, json=body, headers=h)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == "header.Idempotency-Key"
        assert "120" in r.json()["error"]["message"]
    ok = await alice.post(
        "/api/v1/messages",
        json={"from": m.e164, "to": TO, "body": "x"},
        headers={"Idempotency-Key": "k" * 120},
    )
    assert ok.status_code == 202
    assert (await alice.get(f"/api/v1/messages/{ok.json()['id']}")).json()["body"] == "x"


@pytest.mark.parametrize(
    "patch,status,code,field",
    [
        ({"to": "0400 123 456"}, 422, "invalid_number", "to"),
        ({"to": "+1"}, 422, "invalid_number", "to"),
        ({"body": ""}, 422, "empty_body", "body"),
        ({"body": "   \n"}, 422, "empty_body", "body"),
        ({"body": "a" * 671}, 422, "too_long", "body"),
        ({"body": "😀" * 140}, 422, "too_long", "body"),
        ({"from": "+14155550199"}, 403, "not_your_number", "from"),
        ({"body": "x" * 6000}, 422, "invalid", "body"),
        ({"to": 5}, 422, "invalid", "to"),
    ],
)
async def test_send_bad_input(tenants, patch, status, code, field):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    body = {"from": m.e164, "to": TO, "body": "hi", **patch}
    r = await alice.post("/api/v1/messages", json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert (err["code"], err["field"]) == (code, field)
    assert err["message"]


async def test_sms_disabled_at_each_level_is_403(tenants, app):
    m = await messaging_tenant(await tenants.make())
    uid, alice = m.users[0]
    body = {"from": m.e164, "to": TO, "body": "hi"}

    async def expect(word: str) -> None:
        r = await alice.post("/api/v1/messages", json=body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "sms_disabled", r.text
        assert word in r.json()["error"]["message"]

    await m.t.admin.patch(f"/api/v1/users/{uid}", json={"sms_enabled": False})
    await expect("extension")
    await m.t.admin.patch(f"/api/v1/users/{uid}", json={"sms_enabled": True})
    await m.t.admin.patch("/api/v1/tenant", json={"sms_enabled": False})
    await expect("company")
    await m.t.admin.patch("/api/v1/tenant", json={"sms_enabled": True})
    app.state.settings.sms_enabled = False
    await expect("system")
    app.state.settings.sms_enabled = True
    assert (await alice.post("/api/v1/messages", json=body)).status_code == 202


async def test_number_status_and_sms_flag_gate_sending(tenants):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    body = {"from": m.e164, "to": TO, "body": "hi"}
    await m.t.admin.patch(f"/api/v1/numbers/{m.number['id']}", json={"status": "provisioning"})
    r = await alice.post("/api/v1/messages", json=body)
    assert r.status_code == 409 and r.json()["error"]["code"] == "number_not_active"
    await m.t.admin.patch(
        f"/api/v1/numbers/{m.number['id']}", json={"status": "active", "sms_enabled": False}
    )
    r = await alice.post("/api/v1/messages", json=body)
    assert r.status_code == 409 and r.json()["error"]["code"] == "sms_disabled"


async def test_segment_limit_is_a_tenant_setting(tenants):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    await m.t.admin.patch("/api/v1/tenant", json={"max_segments": 1})
    r = await alice.post("/api/v1/messages", json={"from": m.e164, "to": TO, "body": "a" * 161})
    assert r.status_code == 422 and "limit is 1 segment" in r.json()["error"]["message"]


async def test_click_to_sms_opens_or_reuses_and_sends(tenants, app):
    m = await messaging_tenant(await tenants.make())
    _, alice = m.users[0]
    r = await alice.post("/api/v1/click-to-sms", json={"to": TO})
    assert r.status_code == 200 and r.json()["message"] is None
    cid = r.json()["conversation"]["id"]
    r = await alice.post("/api/v1/click-to-sms", json={"to": TO, "body": "Calling you back"})
    assert r.json()["conversation"]["id"] == cid and r.json()["message"]["status"] == "queued"
    r = await alice.post("/api/v1/click-to-sms", json={"to": "12"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "to"
    _, stranger = await m.t.user("299")
    r = await stranger.post("/api/v1/click-to-sms", json={"to": TO, "body": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_number"


async def test_number_without_connector_uses_the_tenants_simulator(tenants, app):
    m = await messaging_tenant(await tenants.make())
    uid, alice = m.users[0]
    other = await m.t.number("+14155550101")
    await m.t.admin.put(f"/api/v1/numbers/{other['id']}/assignees", json={"user_ids": [uid]})
    r = await alice.post("/api/v1/messages", json={"from": other["e164"], "to": TO, "body": "hi"})
    await run_jobs(app)
    assert (await alice.get(f"/api/v1/messages/{r.json()['id']}")).json()["status"] == "delivered"
