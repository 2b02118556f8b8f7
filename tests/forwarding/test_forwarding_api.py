"""The forwarding, webhook and mail-sender APIs: shapes, bad input (422 naming the field
and rule), roles and tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import messaging_tenant

URL = "/api/v1/numbers/{}/forwarding"


async def test_settings_round_trip_and_defaults(tenants):
    m = await messaging_tenant(await tenants.make())
    url = URL.format(m.number["id"])
    empty = (await m.t.admin.get(url)).json()
    assert (empty["emails"], empty["mobile"], empty["url_callback"], empty["active"]) == (
        [],
        None,
        None,
        [],
    )
    body = {
        "emails": ["Ops@Example.com", "ops@example.com", "b@example.org"],
        "mobile": "+14155550177",
        "url_callback": {"template": "https://x.test/cb?from={FROM}&msg={MESSAGE}"},
        "active": ["email", "url_callback"],
    }
    r = await m.t.admin.put(url, json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["emails"] == ["ops@example.com", "b@example.org"]
    assert got["active"] == ["email", "url_callback"]
    assert got["url_callback"] == {
        "template": "https://x.test/cb?from={FROM}&msg={MESSAGE}",
        "retry": True,
        "retry_interval_s": 1800,
        "max_attempts": 48,
    }
    assert (await m.t.admin.get(url)).json() == got
    # Clearing: a PUT replaces everything.
    assert (await m.t.admin.put(url, json={})).json()["active"] == []


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"emails": ["not-an-email"]}, "emails.0", "email address"),
        ({"emails": ["a@b.test"] * 11}, "emails", "at most 10"),
        ({"mobile": "555"}, "mobile", "E.164"),
        ({"url_callback": {"template": "ftp://x.test/"}}, "url_callback.template", "http"),
        (
            {"url_callback": {"template": "http://169.254.169.254/x?m={MESSAGE}"}},
            "url_callback.template",
            "link-local",
        ),
        (
            {"url_callback": {"template": "https://x.test/?a={NOPE}"}},
            "url_callback.template",
            "unknown placeholder",
        ),
        (
            {"url_callback": {"template": "https://x.test/", "retry_interval_s": 0}},
            "url_callback.retry_interval_s",
            "greater than or equal to 1",
        ),
        (
            {"url_callback": {"template": "https://x.test/", "max_attempts": 5000}},
            "url_callback.max_attempts",
            "less than or equal to 1000",
        ),
        ({"active": ["email"]}, "active", "emails is not set"),
        ({"active": ["fax"]}, "active.0", "email"),
        ({"surprise": 1}, "surprise", "not a known field"),
    ],
)
async def test_bad_settings_are_422_naming_the_field(tenants, body, field, words):
    m = await messaging_tenant(await tenants.make())
    r = await m.t.admin.put(URL.format(m.number["id"]), json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == field and words.lower() in error["message"].lower(), error


async def test_forward_to_the_number_itself_is_refused(tenants):
    m = await messaging_tenant(await tenants.make())
    r = await m.t.admin.put(URL.format(m.number["id"]), json={"mobile": m.e164})
    assert r.status_code == 422 and r.json()["error"]["field"] == "mobile"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/webhooks", {"url": "nope", "events": ["message.received"]}, "url"),
        ("/api/v1/webhooks", {"url": "http://[fe80::1]/h", "events": ["message.received"]}, "url"),
        ("/api/v1/webhooks", {"url": "https://x.test/h", "events": []}, "events"),
        ("/api/v1/webhooks", {"url": "https://x.test/h", "events": ["sms.eaten"]}, "events.0"),
        (
            "/api/v1/webhooks",
            {"url": "https://x.test/h", "events": ["message.status"], "secret": "short"},
            "secret",
        ),
        ("/api/v1/mail-senders", {"email": "x", "number_id": "n"}, "email"),
        ("/api/v1/mail-senders", {"email": "a@b.test", "number_id": "nope"}, "number_id"),
    ],
)
async def test_bad_webhooks_and_senders_are_422(tenants, path, body, field):
    t = await tenants.make()
    r = await t.admin.post(path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


async def test_bad_query_and_cursor_are_422(tenants):
    m = await messaging_tenant(await tenants.make())
    base = f"/api/v1/numbers/{m.number['id']}/callback-attempts"
    for params, field in (({"kind": "fax"}, "kind"), ({"cursor": "x"}, "cursor")):
        r = await m.t.admin.get(base, params=params)
        assert r.status_code == 422 and field in str(r.json()["error"]["field"]), r.text


async def _objects(t: Any) -> dict[str, str]:
    m = await messaging_tenant(t, e164="+14155550150")
    await t.admin.put(URL.format(m.number["id"]), json={"emails": ["a@b.test"]})
    hook = (
        await t.admin.post(
            "/api/v1/webhooks", json={"url": "https://x.test/h", "events": ["message.status"]}
        )
    ).json()
    sender = (
        await t.admin.post(
            "/api/v1/mail-senders", json={"email": "a@b.test", "number_id": m.number["id"]}
        )
    ).json()
    return {"number": m.number["id"], "webhook": hook["id"], "sender": sender["id"]}


async def test_other_tenants_see_404_and_users_403(tenants):
    a, b = await tenants.make("Alpha"), await tenants.make("Beta")
    ids = await _objects(a)
    n, w, s = ids["number"], ids["webhook"], ids["sender"]
    for method, url, body in (
        ("GET", URL.format(n), None),
        ("PUT", URL.format(n), {}),
        ("GET", f"/api/v1/numbers/{n}/callback-attempts", None),
        ("GET", f"/api/v1/webhooks/{w}", None),
        ("PATCH", f"/api/v1/webhooks/{w}", {"enabled": False}),
        ("DELETE", f"/api/v1/webhooks/{w}", None),
        ("GET", f"/api/v1/webhooks/{w}/deliveries", None),
        ("POST", f"/api/v1/webhooks/{w}/deliveries/{w}/replay", None),
        ("DELETE", f"/api/v1/mail-senders/{s}", None),
    ):
        r = await b.admin.request(method, url, json=body)
        assert r.status_code == 404, (method, url, r.status_code)
    assert (await b.admin.get("/api/v1/webhooks")).json()["items"] == []
    assert (await b.admin.get("/api/v1/mail-senders")).json()["items"] == []
    r = await b.admin.post("/api/v1/mail-senders", json={"email": "z@b.test", "number_id": n})
    assert r.status_code == 422  # another tenant's number is unknown here
    _, user = await a.user("301")
    for url in (URL.format(n), f"/api/v1/numbers/{n}/callback-attempts", "/api/v1/webhooks"):
        r = await user.get(url)
        assert r.status_code == 403 and r.json()["error"]["code"] == "admin_required", url
    # Tenant A still has everything.
    assert (await a.admin.get(URL.format(n))).json()["emails"] == ["a@b.test"]
    assert [h["id"] for h in (await a.admin.get("/api/v1/webhooks")).json()["items"]] == [w]


async def test_webhook_update_and_delete(tenants):
    t = await tenants.make()
    hook = (
        await t.admin.post(
            "/api/v1/webhooks",
            json={"url": "https://x.test/h", "events": ["message.status"], "secret": "s" * 20},
        )
    ).json()
    assert hook["secret"] == "s" * 20
    r = await t.admin.patch(
        f"/api/v1/webhooks/{hook['id']}",
        json={"events": ["message.received", "message.status"], "enabled": False},
    )
    assert r.json()["events"] == ["message.received", "message.status"] and not r.json()["enabled"]
    assert (await t.admin.delete(f"/api/v1/webhooks/{hook['id']}")).status_code == 204
    assert (await t.admin.get(f"/api/v1/webhooks/{hook['id']}")).status_code == 404
