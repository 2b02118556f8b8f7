"""Rating rules through the API (U2), and the campaign preview's cost estimate (B2)."""

from __future__ import annotations

from tests.factories import messaging_tenant

RULES = [
    {"prefix": "+1", "price_per_segment": "0.01"},
    {"prefix": "+1202", "price_per_segment": 0.02},
]


async def test_put_and_get_rules_and_a_preview_that_prices_them(tenants):
    m = await messaging_tenant(await tenants.make())
    admin = m.t.admin
    assert (await admin.get("/api/v1/rating-rules")).json() == {"rules": []}
    r = await admin.put("/api/v1/rating-rules", json={"rules": RULES})
    assert r.status_code == 200, r.text
    assert r.json()["rules"] == [
        {"prefix": "+1", "price_per_segment": "0.01000"},
        {"prefix": "+1202", "price_per_segment": "0.02000"},
    ]
    lst = (await admin.post("/api/v1/lists", json={"name": "L"})).json()["id"]
    for n in ("+12025550001", "+14155550002", "+61400123456"):
        r = await admin.post(f"/api/v1/lists/{lst}/entries", json={"e164": n})
        assert r.status_code == 201
    body = {"name": "P", "from": m.e164, "body": "x" * 200, "list_id": lst}  # 2 segments
    camp = (await admin.post("/api/v1/campaigns", json=body)).json()
    preview = (await admin.get(f"/api/v1/campaigns/{camp['id']}/preview")).json()
    # +1202: 2 x 0.02; +1415: 2 x 0.01; +61 has no price and is counted as unpriced.
    assert preview["estimated_cost"] == 0.06 and preview["unpriced"] == 1
    # A flat price given with the request overrides the rules.
    flat = await admin.get(
        f"/api/v1/campaigns/{camp['id']}/preview", params={"price_per_segment": 0.5}
    )
    assert flat.json()["estimated_cost"] == 3.0 and flat.json()["unpriced"] == 0
    # An empty list removes every price: the preview has no estimate.
    assert (await admin.put("/api/v1/rating-rules", json={"rules": []})).status_code == 200
    preview = (await admin.get(f"/api/v1/campaigns/{camp['id']}/preview")).json()
    assert preview["estimated_cost"] is None


async def test_bad_rules_are_a_clear_422(tenants):
    t = await tenants.make()
    cases = [
        ({"rules": [{"prefix": "1", "price_per_segment": 1}]}, "rules.0.prefix"),
        ({"rules": [{"prefix": "+1a", "price_per_segment": 1}]}, "rules.0.prefix"),
        ({"rules": [{"prefix": "+1", "price_per_segment": -1}]}, "rules.0.price_per_segment"),
        ({"rules": [{"prefix": "+1", "price_per_segment": "lots"}]}, "rules.0.price_per_segment"),
        (
            {"rules": [{"prefix": "+1", "price_per_segment": "0.0000001"}]},
            "rules.0.price_per_segment",
        ),
        ({"rules": [{"prefix": "+1", "price_per_segment": 1}] * 2}, "rules"),
        ({"rules": [{"prefix": "+1", "price_per_segment": 1, "x": 1}]}, "rules.0.x"),
        ({}, "rules"),
    ]
    for body, field in cases:
        r = await t.admin.put("/api/v1/rating-rules", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["field"] == field, (body, r.json())
    assert (await t.admin.get("/api/v1/rating-rules")).json() == {"rules": []}


async def test_rules_belong_to_one_tenant_and_to_admins(tenants):
    a = await messaging_tenant(await tenants.make())
    b = await tenants.make()
    assert (await a.t.admin.put("/api/v1/rating-rules", json={"rules": RULES})).status_code == 200
    assert (await b.admin.get("/api/v1/rating-rules")).json() == {"rules": []}
    _, user = a.users[0]
    assert (await user.get("/api/v1/rating-rules")).status_code == 403
    r = await user.put("/api/v1/rating-rules", json={"rules": []})
    assert r.status_code == 403
    assert len((await a.t.admin.get("/api/v1/rating-rules")).json()["rules"]) == 2
