"""Forwarding on the number's admin page, and the webhook pages with their delivery log
and replay button."""

from __future__ import annotations

from tests.factories import run_jobs
from tests.web.conftest import Browser


async def test_forwarding_form_saves_and_shows_field_errors(admin: Browser, acme):
    number = await acme.number("+14155550120")
    edit = await admin.get(f"/numbers/{number['id']}/edit")
    assert f'href="/numbers/{number["id"]}/forwarding"' in edit.text
    page = await admin.get(f"/numbers/{number['id']}/forwarding")
    assert page.status_code == 200 and "No attempts yet" in page.text
    bad = await admin.post(
        f"/numbers/{number['id']}/forwarding",
        [("emails", "nope"), ("mobile", "555"), ("template", "ftp://x"), ("on_email", "on")],
    )
    assert bad.status_code == 422
    assert "must be an email address" in bad.text
    r = await admin.post(
        f"/numbers/{number['id']}/forwarding",
        [
            ("emails", "ops@example.com, b@example.org"),
            ("mobile", "+14155550177"),
            ("template", "https://x.test/cb?m={MESSAGE}"),
            ("retry", "on"),
            ("retry_interval_s", "60"),
            ("max_attempts", "3"),
            ("on_email", "on"),
            ("on_url_callback", "on"),
        ],
    )
    assert r.status_code == 303, r.text
    got = (await acme.admin.get(f"/api/v1/numbers/{number['id']}/forwarding")).json()
    assert got["emails"] == ["ops@example.com", "b@example.org"]
    assert got["active"] == ["email", "url_callback"]
    assert got["url_callback"]["retry_interval_s"] == 60


async def test_webhook_pages_show_the_secret_once_and_replay(admin: Browser, acme, app):
    page = await admin.get("/webhooks")
    assert "No webhooks yet" in page.text
    bad = await admin.post("/webhooks", [("url", "nope")])
    assert bad.status_code == 422
    r = await admin.post(
        "/webhooks", [("url", "http://127.0.0.1:9/h"), ("events", "message.received")]
    )
    assert r.status_code == 200 and "whsec_" in r.text
    hook = (await acme.admin.get("/api/v1/webhooks")).json()["items"][0]
    assert "whsec_" not in (await admin.get("/webhooks")).text
    # An event to a closed port: the delivery is logged as pending with its error.
    r = await acme.admin.post(
        "/api/v1/connectors", json={"name": "s", "kind": "simulator", "config": {}}
    )
    number = await acme.number("+14155550121", connector_id=r.json()["id"])
    await acme.admin.post(
        "/api/v1/simulator/inbound",
        json={"from": "+12025550123", "to": number["e164"], "body": "hi"},
    )
    await run_jobs(app)
    log = await admin.get(f"/webhooks/{hook['id']}")
    assert "message.received" in log.text and "ConnectError" in log.text
    delivery = (await acme.admin.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()
    did = delivery["items"][0]["id"]
    r = await admin.post(f"/webhooks/{hook['id']}/deliveries/{did}/replay", [])
    assert r.status_code == 303
    again = (await acme.admin.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()
    assert again["items"][0]["replays"] == 1
    user_browser_blocked = await admin.get("/webhooks/nope")
    assert user_browser_blocked.status_code == 404


async def test_mail2sms_senders_on_the_number_page(admin: Browser, acme):
    number = await acme.number("+14155550122")
    slug = (await acme.admin.get("/api/v1/tenant")).json()["slug"]
    page = await admin.get(f"/numbers/{number['id']}/forwarding")
    assert f"@{slug}." in page.text
    r = await admin.post(f"/numbers/{number['id']}/mail-senders", [("email", "Jane@Example.com")])
    assert r.status_code == 303
    senders = (await acme.admin.get("/api/v1/mail-senders")).json()["items"]
    assert [(s["email"], s["number_id"]) for s in senders] == [("jane@example.com", number["id"])]
    page = await admin.get(f"/numbers/{number['id']}/forwarding")
    assert "jane@example.com" in page.text
    bad = await admin.post(f"/numbers/{number['id']}/mail-senders", [("email", "nope")])
    assert bad.status_code == 303
    assert "not an email address" in (await admin.get(bad.headers["location"])).text
    r = await admin.post(f"/numbers/{number['id']}/mail-senders/{senders[0]['id']}/delete", [])
    assert r.status_code == 303
    assert (await acme.admin.get("/api/v1/mail-senders")).json()["items"] == []
