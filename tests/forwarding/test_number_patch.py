"""Forwarding through `PATCH /numbers/{id}` (API.md): the same rules as
`PUT /numbers/{id}/forwarding`, written with the number's other fields, and shown in the
number's shape."""

from __future__ import annotations

import pytest

from tests.factories import messaging_tenant

FORWARDING = {
    "emails": ["Ops@Example.com"],
    "mobile": "+14155550177",
    "url_callback": {
        "template": "https://x.test/cb?from={FROM}&msg={MESSAGE}",
        "retry": True,
        "retry_interval_s": 600,
        "max_attempts": 5,
    },
}


async def test_patch_sets_forwarding_with_the_other_fields(tenants):
    m = await messaging_tenant(await tenants.make())
    url = f"/api/v1/numbers/{m.number['id']}"
    assert (await m.t.admin.get(url)).json()["forwarding"] is None
    r = await m.t.admin.patch(url, json={"label": "Front desk", "forwarding": FORWARDING})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["label"] == "Front desk"
    assert got["forwarding"] == {
        "emails": ["ops@example.com"],
        "mobile": "+14155550177",
        "url_callback": FORWARDING["url_callback"],
        "active": ["email", "mobile", "url_callback"],
    }
    assert (await m.t.admin.get(url)).json() == got
    # The PUT endpoint sees the same settings, and its changes show on the number.
    put = (await m.t.admin.get(f"{url}/forwarding")).json()
    assert put["emails"] == ["ops@example.com"] and put["mobile"] == "+14155550177"
    await m.t.admin.put(f"{url}/forwarding", json={"emails": ["b@example.org"]})
    assert (await m.t.admin.get(url)).json()["forwarding"]["emails"] == ["b@example.org"]
    listed = (await m.t.admin.get("/api/v1/numbers")).json()["items"]
    assert listed[0]["forwarding"]["active"] == ["email"]
    # Leaving `forwarding` out keeps it; null clears it.
    r = await m.t.admin.patch(url, json={"label": "Desk"})
    assert r.json()["forwarding"]["emails"] == ["b@example.org"]
    r = await m.t.admin.patch(url, json={"forwarding": None})
    assert r.json()["forwarding"] == {
        "emails": [],
        "mobile": None,
        "url_callback": None,
        "active": [],
    }
    # Users see their number without the admin-only forwarding.
    assert (await m.users[0][1].get(url)).json()["forwarding"] is None


@pytest.mark.parametrize(
    ("forwarding", "field", "words"),
    [
        ({"emails": ["not-an-email"]}, "forwarding.emails.0", "email address"),
        ({"mobile": "555"}, "forwarding.mobile", "E.164"),
        ({"mobile": "+14155550100"}, "forwarding.mobile", "differ from the number"),
        (
            {"url_callback": {"template": "https://x.test/?a={NOPE}"}},
            "forwarding.url_callback.template",
            "unknown placeholder",
        ),
        ({"active": ["email"]}, "forwarding.active", "emails is not set"),
        ({"surprise": 1}, "forwarding.surprise", "not a known field"),
    ],
)
async def test_bad_forwarding_is_422_and_changes_nothing(tenants, forwarding, field, words):
    m = await messaging_tenant(await tenants.make())
    url = f"/api/v1/numbers/{m.number['id']}"
    r = await m.t.admin.patch(url, json={"label": "Changed", "forwarding": forwarding})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == field and words.lower() in error["message"].lower(), error
    after = (await m.t.admin.get(url)).json()
    assert after["label"] != "Changed" and after["forwarding"] is None


async def test_users_get_403_and_other_tenants_404(tenants):
    a, b = await tenants.make("Alpha"), await tenants.make("Beta")
    m = await messaging_tenant(a)
    url = f"/api/v1/numbers/{m.number['id']}"
    r = await m.users[0][1].patch(url, json={"forwarding": FORWARDING})
    assert r.status_code == 403 and r.json()["error"]["code"] == "admin_required"
    r = await b.admin.patch(url, json={"forwarding": FORWARDING})
    assert r.status_code == 404
    assert (await a.admin.get(url)).json()["forwarding"] is None
