"""A user's message-center preferences (C2: Enter sends; C6: sound and notification)."""

from __future__ import annotations

DEFAULTS = {"notify_sound": True, "notify_browser": True, "enter_sends": True}


async def test_me_carries_the_preferences_and_patch_changes_only_given_fields(tenants):
    t = await tenants.make()
    _, bob = await t.user("201")
    assert (await bob.get("/api/v1/me")).json()["preferences"] == DEFAULTS

    r = await bob.patch("/api/v1/me/preferences", json={"enter_sends": False})
    assert r.status_code == 200, r.text
    assert r.json() == {**DEFAULTS, "enter_sends": False}
    r = await bob.patch("/api/v1/me/preferences", json={"notify_sound": False})
    assert r.json() == {"notify_sound": False, "notify_browser": True, "enter_sends": False}
    assert (await bob.get("/api/v1/me")).json()["preferences"] == r.json()

    # An empty patch changes nothing; each user has their own settings.
    assert (await bob.patch("/api/v1/me/preferences", json={})).json() == r.json()
    assert (await t.admin.get("/api/v1/me")).json()["preferences"] == DEFAULTS


async def test_preferences_are_per_tenant_and_per_user(tenants):
    a, b = await tenants.make(), await tenants.make()
    r = await a.admin.patch("/api/v1/me/preferences", json={"notify_browser": False})
    assert r.status_code == 200
    assert (await b.admin.get("/api/v1/me")).json()["preferences"] == DEFAULTS
    assert (await a.admin.get("/api/v1/me")).json()["preferences"]["notify_browser"] is False


async def test_bad_preferences_are_422_naming_the_field(tenants):
    t = await tenants.make()
    for body, field in [
        ({"enter_sends": "yes"}, "enter_sends"),
        ({"notify_sound": 1}, "notify_sound"),
        ({"notify_browser": []}, "notify_browser"),
        ({"volume": 3}, "volume"),
    ]:
        r = await t.admin.patch("/api/v1/me/preferences", json=body)
        assert r.status_code == 422, (body, r.text)
        error = r.json()["error"]
        assert error["field"] == field, (body, error)
        assert field in error["message"]
    r = await t.admin.patch(
        "/api/v1/me/preferences", content=b"not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert (await t.admin.get("/api/v1/me")).json()["preferences"] == DEFAULTS


async def test_preferences_need_a_caller(tenants):
    anon = tenants.anonymous()
    r = await anon.patch("/api/v1/me/preferences", json={"enter_sends": False})
    assert r.status_code == 401
    await anon.aclose()
