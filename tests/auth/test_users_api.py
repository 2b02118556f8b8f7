"""Users (extensions), roles and API keys through the REST API."""

from __future__ import annotations


async def test_admin_manages_users(tenants):
    t = await tenants.make()
    r = await t.admin.post(
        "/api/v1/users", json={"extension": "201", "name": "Bob", "email": "bob@example.com"}
    )
    assert r.status_code == 201, r.text
    bob = r.json()
    assert bob["role"] == "user" and bob["sms_enabled"] is True
    r = await t.admin.patch(
        f"/api/v1/users/{bob['id']}", json={"name": "Robert", "sms_enabled": False}
    )
    assert r.json()["name"] == "Robert" and r.json()["sms_enabled"] is False
    r = await t.admin.get("/api/v1/users", params={"q": "rob"})
    assert [u["extension"] for u in r.json()["items"]] == ["201"]
    assert (await t.admin.delete(f"/api/v1/users/{bob['id']}")).status_code == 204
    assert (await t.admin.get(f"/api/v1/users/{bob['id']}")).status_code == 404
    # A deleted extension's number can be reused.
    r = await t.admin.post("/api/v1/users", json={"extension": "201", "name": "New Bob"})
    assert r.status_code == 201


async def test_duplicate_extension_is_409_naming_the_field(tenants):
    t = await tenants.make()
    r = await t.admin.post("/api/v1/users", json={"extension": "100", "name": "Clash"})
    assert r.status_code == 409
    assert r.json()["error"] == {
        "code": "extension_taken",
        "message": "Extension 100 exists already.",
        "field": "extension",
    }


async def test_admin_cannot_demote_or_delete_self(tenants):
    t = await tenants.make()
    r = await t.admin.patch(f"/api/v1/users/{t.admin_id}", json={"role": "user"})
    assert r.status_code == 409 and r.json()["error"]["field"] == "role"
    assert (await t.admin.delete(f"/api/v1/users/{t.admin_id}")).status_code == 409


async def test_pagination_walks_every_user_once(tenants):
    t = await tenants.make()
    for ext in range(300, 312):
        await t.admin.post("/api/v1/users", json={"extension": str(ext), "name": f"U{ext}"})
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = (await t.admin.get("/api/v1/users", params=params)).json()
        seen += [u["extension"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(["100", *[str(e) for e in range(300, 312)]])
    assert len(seen) == len(set(seen))


async def test_bad_cursor_is_422(tenants):
    t = await tenants.make()
    r = await t.admin.get("/api/v1/users", params={"cursor": "nope"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "cursor"


async def test_missing_and_wrong_api_keys_are_401(tenants):
    t = await tenants.make()
    anon = tenants.anonymous()
    r = await anon.get("/api/v1/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    r = await anon.get("/api/v1/me", headers={"Authorization": "Bearer smk_wrong"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    r = await anon.get("/api/v1/me", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    await anon.aclose()
    assert (await t.admin.get("/api/v1/me")).status_code == 200


async def test_me_lists_numbers_by_assignment_and_group(tenants):
    t = await tenants.make()
    uid, user = await t.user("201")
    direct = await t.number("+14155550100")
    shared = await t.number("+14155550101")
    await t.admin.put(f"/api/v1/numbers/{direct['id']}/assignees", json={"user_ids": [uid]})
    await t.admin.post(
        "/api/v1/groups", json={"name": "Sales", "member_ids": [uid], "number_id": shared["id"]}
    )
    me = (await user.get("/api/v1/me")).json()
    assert me["user"]["extension"] == "201" and me["role"] == "user"
    assert {(n["e164"], n["via"]) for n in me["numbers"]} == {
        ("+14155550100", "assignment"),
        ("+14155550101", "group"),
    }


async def test_tenant_policy_is_admin_only(tenants):
    t = await tenants.make()
    _, user = await t.user("201")
    r = await user.patch("/api/v1/tenant", json={"sms_enabled": False})
    assert r.status_code == 403
    r = await t.admin.patch("/api/v1/tenant", json={"one_number_per_extension": False})
    assert r.status_code == 200 and r.json()["one_number_per_extension"] is False


async def test_sms_switch_at_three_levels(tenants, app):
    t = await tenants.make()
    uid, user = await t.user("201")
    assert (await user.get("/api/v1/me")).json()["sms_enabled"] is True
    await t.admin.patch(f"/api/v1/users/{uid}", json={"sms_enabled": False})
    me = (await user.get("/api/v1/me")).json()
    assert me["sms_enabled"] is False and "extension 201" in me["sms_disabled_reason"]
    await t.admin.patch(f"/api/v1/users/{uid}", json={"sms_enabled": True})
    await t.admin.patch("/api/v1/tenant", json={"sms_enabled": False})
    me = (await user.get("/api/v1/me")).json()
    assert me["sms_enabled"] is False and "company" in me["sms_disabled_reason"]
    await t.admin.patch("/api/v1/tenant", json={"sms_enabled": True})
    app.state.settings.sms_enabled = False
    me = (await user.get("/api/v1/me")).json()
    assert me["sms_enabled"] is False and "system" in me["sms_disabled_reason"]
