"""SMS numbers: E.164 validation, uniqueness, assignment policy, soft delete."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from smshub.models import Number


@pytest.mark.parametrize(
    "value",
    [
        "0400 123 456",
        "+1",
        "+999999999999999999",
        "61400123456",
        "+61 400 123 456",
        "+6140012345x",
        "",
        "+",
        "+0123456789",
        "+15551230000",
    ],
)
async def test_bad_numbers_get_422_with_the_expected_format(tenants, value):
    t = await tenants.make()
    r = await t.admin.post("/api/v1/numbers", json={"e164": value})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["field"] == "e164"
    assert "E.164" in err["message"] or "+" in err["message"]


async def test_number_is_unique_across_tenants(tenants):
    a, b = await tenants.make(), await tenants.make()
    await a.number("+14155550100")
    r = await b.admin.post("/api/v1/numbers", json={"e164": "+14155550100"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "number_taken" and r.json()["error"]["field"] == "e164"


async def test_soft_delete_keeps_the_row_and_frees_the_number(tenants, app):
    a, b = await tenants.make(), await tenants.make()
    n = await a.number("+14155550100", label="Sales")
    assert (await a.admin.delete(f"/api/v1/numbers/{n['id']}")).status_code == 204
    assert (await a.admin.get(f"/api/v1/numbers/{n['id']}")).status_code == 404
    async with app.state.sessions() as s:
        row = (await s.execute(select(Number).where(Number.id == n["id"]))).scalar_one()
        assert row.deleted_at is not None and row.label == "Sales"
    await b.number("+14155550100")


async def test_assignment_and_one_number_per_extension_policy(tenants):
    t = await tenants.make()
    u1, _ = await t.user("201")
    u2, _ = await t.user("202")
    n1 = await t.number("+14155550100")
    n2 = await t.number("+14155550101")
    r = await t.admin.put(f"/api/v1/numbers/{n1['id']}/assignees", json={"user_ids": [u1, u2]})
    assert r.status_code == 200
    assert sorted(a["extension"] for a in r.json()["assignees"]) == ["201", "202"]
    r = await t.admin.put(f"/api/v1/numbers/{n2['id']}/assignees", json={"user_ids": [u1]})
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "one_number_per_extension" and err["field"] == "user_ids"
    assert "201" in err["message"] and "+14155550100" in err["message"]
    await t.admin.patch("/api/v1/tenant", json={"one_number_per_extension": False})
    r = await t.admin.put(f"/api/v1/numbers/{n2['id']}/assignees", json={"user_ids": [u1]})
    assert r.status_code == 200


async def test_assigning_unknown_or_foreign_users_is_422(tenants):
    a, b = await tenants.make(), await tenants.make()
    foreign, _ = await b.user("201")
    n = await a.number("+14155550100")
    r = await a.admin.put(f"/api/v1/numbers/{n['id']}/assignees", json={"user_ids": [foreign]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "user_ids"


async def test_users_see_only_their_numbers(tenants):
    t = await tenants.make()
    uid, user = await t.user("201")
    mine = await t.number("+14155550100")
    other = await t.number("+14155550101")
    await t.admin.put(f"/api/v1/numbers/{mine['id']}/assignees", json={"user_ids": [uid]})
    page = (await user.get("/api/v1/numbers")).json()
    assert [n["e164"] for n in page["items"]] == ["+14155550100"]
    assert (await user.get(f"/api/v1/numbers/{other['id']}")).status_code == 404


async def test_update_number_fields(tenants):
    t = await tenants.make()
    n = await t.number("+14155550100")
    r = await t.admin.patch(
        f"/api/v1/numbers/{n['id']}",
        json={"label": "Support", "status": "provisioning", "mms_enabled": True},
    )
    assert r.status_code == 200
    assert (r.json()["label"], r.json()["status"], r.json()["mms_enabled"]) == (
        "Support",
        "provisioning",
        True,
    )
    r = await t.admin.patch(f"/api/v1/numbers/{n['id']}", json={"status": "gone"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "status"
