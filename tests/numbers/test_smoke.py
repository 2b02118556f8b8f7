async def test_number_roundtrip(tenants):
    t = await tenants.make()
    n = await t.number("+14155550100", label="Sales")
    r = await t.admin.get("/api/v1/numbers")
    assert r.status_code == 200
    assert [x["id"] for x in r.json()["items"]] == [n["id"]]
    r = await t.admin.get("/api/v1/me")
    assert r.status_code == 200, r.text
