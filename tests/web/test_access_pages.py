"""Who may open which page: roles (admin pages) and tenants (N1: isolation)."""

from __future__ import annotations

import pytest

from tests.web.conftest import Browser, Browsers

ADMIN_PAGES = [
    "/users",
    "/users/new",
    "/numbers",
    "/numbers/new",
    "/groups",
    "/groups/new",
    "/prices",
]


@pytest.fixture
async def user(browsers: Browsers, acme) -> Browser:
    await acme.user("101", name="Bob Baker", password="bob-pass-12")
    b = browsers.new()
    await b.login("acme", "101", "bob-pass-12")
    return b


async def test_a_user_gets_403_on_admin_pages(user: Browser, acme):
    number = await acme.number("+14155550100")
    for path in [*ADMIN_PAGES, f"/numbers/{number['id']}/edit", f"/users/{acme.admin_id}/edit"]:
        r = await user.get(path)
        assert r.status_code == 403, path
        assert "This page is for company admins." in r.text
        assert 'href="/"' in r.text  # the way back
    r = await user.post("/users/new", {"extension": "150", "name": "Sneaky", "role": "admin"})
    assert r.status_code == 403
    r = await user.post(f"/numbers/{number['id']}/delete")
    assert r.status_code == 403
    assert (await acme.admin.get(f"/api/v1/numbers/{number['id']}")).status_code == 200
    assert (await acme.admin.get("/api/v1/users", params={"q": "Sneaky"})).json()["items"] == []


async def test_a_user_home_shows_only_their_links(user: Browser, acme):
    home = await user.get("/")
    assert home.status_code == 200
    assert 'href="/contacts"' in home.text
    for path in ("/users", "/numbers", "/groups"):
        assert f'href="{path}"' not in home.text
    assert "No SMS number is assigned to you yet." in home.text


async def test_home_dashboard_counts_and_my_numbers(admin: Browser, acme):
    mine = await acme.number("+14155550101", label="Alice direct")
    await acme.admin.put(
        f"/api/v1/numbers/{mine['id']}/assignees", json={"user_ids": [acme.admin_id]}
    )
    await acme.number("+14155550100")
    await acme.user("101")
    home = await admin.get("/")
    assert "+1 415-555-0101" in home.text and "Alice direct" in home.text
    for path, count in (("/numbers", 2), ("/users", 2), ("/groups", 0), ("/contacts", 0)):
        stat = home.text.split(f'class="stat card" href="{path}"')[1].split("</a>")[0]
        assert f'<span class="stat-value">{count}</span>' in stat, path


@pytest.fixture
async def a_objects(acme):
    """Tenant A (Acme) with one of everything."""
    user_id, _ = await acme.user("101", name="Acme Bob")
    number = await acme.number("+14155550100", label="Acme sales")
    group = (await acme.admin.post("/api/v1/groups", json={"name": "Acme support"})).json()
    contact = (
        await acme.admin.post(
            "/api/v1/contacts", json={"name": "Acme customer", "numbers": ["+12025550123"]}
        )
    ).json()
    return {
        "users": user_id,
        "numbers": number["id"],
        "groups": group["id"],
        "contacts": contact["id"],
    }


@pytest.fixture
async def b_admin(tenants, browsers: Browsers) -> Browser:
    other = await tenants.make("Beta")
    await other.number("+14155550177", label="Beta line")
    return await browsers.admin_of(other, "Beta")


@pytest.mark.parametrize("entity", ["users", "numbers", "groups", "contacts"])
async def test_another_tenants_admin_gets_404_on_edit_and_delete(
    b_admin: Browser, a_objects, acme, entity
):
    object_id = a_objects[entity]
    for path in (f"/{entity}/{object_id}/edit", f"/{entity}/{object_id}/delete"):
        r = await b_admin.get(path)
        assert r.status_code == 404, path
        assert "Acme" not in r.text
    r = await b_admin.post(f"/{entity}/{object_id}/edit", {"name": "Hijacked", "label": "Hijacked"})
    assert r.status_code == 404
    r = await b_admin.post(f"/{entity}/{object_id}/delete")
    assert r.status_code == 404
    r = await acme.admin.get(f"/api/v1/{entity}/{object_id}")
    assert r.status_code == 200 and "Hijacked" not in r.text


@pytest.mark.parametrize(
    ("entity", "q"),
    [("users", "acme"), ("numbers", "4155550100"), ("groups", "acme"), ("contacts", "acme"),
     ("contacts", "2025550123"), ("numbers", "sales")],
)  # fmt: skip
async def test_another_tenants_lists_and_searches_show_nothing_of_a(
    b_admin: Browser, a_objects, entity, q
):
    for params in ({}, {"q": q}):
        page = await b_admin.get(f"/{entity}", params=params)
        assert page.status_code == 200
        assert a_objects[entity] not in page.text
        assert "Acme" not in page.text.replace('value="acme"', "")
    live = await b_admin.get(
        f"/{entity}", params={"q": q}, headers={"HX-Request": "true", "HX-Target": "results"}
    )
    assert a_objects[entity] not in live.text and "Acme" not in live.text


async def test_another_tenants_forms_offer_none_of_as_people_or_numbers(
    b_admin: Browser, a_objects
):
    for path in ("/numbers/new", "/groups/new"):
        page = await b_admin.get(path)
        assert a_objects["users"] not in page.text and "Acme Bob" not in page.text
    page = await b_admin.get("/groups/new")
    assert a_objects["numbers"] not in page.text and "415-555-0100" not in page.text
    assert "415-555-0177" in page.text


async def test_b_cannot_assign_as_people_or_numbers_by_id(b_admin: Browser, a_objects, acme):
    r = await b_admin.post("/groups/new", [("name", "Raid"), ("member_ids", a_objects["users"])])
    assert r.status_code == 422 and "No such user" in r.text
    r = await b_admin.post("/groups/new", {"name": "Raid", "number_id": a_objects["numbers"]})
    assert r.status_code == 422 and "No such number." in r.text
    r = await b_admin.post(
        "/numbers/new", [("e164", "+14155550188"), ("user_ids", a_objects["users"])]
    )
    assert r.status_code == 422 and "No such user" in r.text
