"""Call groups: members and one number."""

from __future__ import annotations


async def test_group_with_members_and_number(tenants):
    t = await tenants.make()
    u1, c1 = await t.user("201")
    u2, _ = await t.user("202")
    n = await t.number("+14155550100")
    r = await t.admin.post(
        "/api/v1/groups", json={"name": "Support", "member_ids": [u1, u2], "number_id": n["id"]}
    )
    assert r.status_code == 201, r.text
    g = r.json()
    assert g["number"] == "+14155550100"
    assert sorted(m["extension"] for m in g["members"]) == ["201", "202"]
    # A number serves one group only.
    r = await t.admin.post("/api/v1/groups", json={"name": "Other", "number_id": n["id"]})
    assert r.status_code == 409 and r.json()["error"]["field"] == "number_id"
    # Members see their group; the number shows it.
    assert [x["name"] for x in (await c1.get("/api/v1/groups")).json()["items"]] == ["Support"]
    assert (await t.admin.get(f"/api/v1/numbers/{n['id']}")).json()["group_id"] == g["id"]
    r = await t.admin.patch(f"/api/v1/groups/{g['id']}", json={"member_ids": [u2], "name": "Help"})
    assert r.json()["name"] == "Help" and [m["id"] for m in r.json()["members"]] == [u2]
    assert (await c1.get(f"/api/v1/groups/{g['id']}")).status_code == 404
    assert (await t.admin.delete(f"/api/v1/groups/{g['id']}")).status_code == 204
    r = await t.admin.post("/api/v1/groups", json={"name": "Again", "number_id": n["id"]})
    assert r.status_code == 201


async def test_group_rejects_unknown_members_and_numbers(tenants):
    a, b = await tenants.make(), await tenants.make()
    foreign_user, _ = await b.user("201")
    foreign_number = await b.number("+14155550100")
    r = await a.admin.post("/api/v1/groups", json={"name": "X", "member_ids": [foreign_user]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "member_ids"
    r = await a.admin.post("/api/v1/groups", json={"name": "X", "number_id": foreign_number["id"]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "number_id"
    r = await a.admin.post("/api/v1/groups", json={"name": "   "})
    assert r.status_code == 422 and r.json()["error"]["field"] == "name"
