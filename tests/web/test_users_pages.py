"""Users (extensions) through the admin forms."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import Browser, field_error, form_value, row_ids


async def api_user(acme, extension: str) -> dict[str, Any]:
    items = (await acme.admin.get("/api/v1/users", params={"q": extension})).json()["items"]
    return next(u for u in items if u["extension"] == extension)


async def test_users_list_shows_extensions_and_searches(admin: Browser, acme):
    await acme.user("101", name="Bob Baker", email="bob@example.com")
    await acme.user("102", name="Carol Chen")
    page = await admin.get("/users")
    assert page.status_code == 200
    assert "Bob Baker" in page.text and "Carol Chen" in page.text and "bob@example.com" in page.text
    found = await admin.get("/users", params={"q": "carol"})
    assert "Carol Chen" in found.text and "Bob Baker" not in found.text
    assert form_value(found.text, "q") == "carol"
    none = await admin.get("/users", params={"q": "zzz"})
    assert "No extensions match" in none.text


async def test_live_search_answers_htmx_with_the_results_only(admin: Browser, acme):
    await acme.user("101", name="Bob Baker")
    r = await admin.get(
        "/users", params={"q": "bob"}, headers={"HX-Request": "true", "HX-Target": "results"}
    )
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<div id="results">')
    assert "<html" not in r.text and "Bob Baker" in r.text
    assert "HX-Request" in r.headers["vary"]


async def test_pagination_follows_next_cursor(admin: Browser, acme):
    for i in range(30):
        await acme.user(f"2{i:02d}")
    first = await admin.get("/users")
    ids = row_ids(first.text, "users")
    assert len(ids) == 25
    assert "Load more" in first.text
    cursor = first.text.split("cursor=")[1].split('"')[0]
    second = await admin.get(f"/users?cursor={cursor}")
    more = row_ids(second.text, "users")
    assert len(more) == 6 and not (ids & more)  # 30 users + the admin
    assert "Back to the start" in second.text and "Load more" not in second.text
    rows = await admin.get(
        f"/users?cursor={cursor}", headers={"HX-Request": "true", "HX-Target": "more"}
    )
    assert rows.text.lstrip().startswith("<tr") and row_ids(rows.text, "users") == more


async def test_create_edit_and_delete_a_user(admin: Browser, acme):
    form = await admin.get("/users/new")
    assert 'id="f-extension"' in form.text and "autofocus" in form.text
    r = await admin.post(
        "/users/new",
        {
            "extension": "120",
            "name": "Erin Example",
            "email": "erin@example.com",
            "role": "user",
            "sms_enabled": "on",
            "password": "erin-pass-1",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/users"
    listed = await admin.get("/users")
    assert "Extension 120 (Erin Example) added." in listed.text
    user = await api_user(acme, "120")
    assert user["email"] == "erin@example.com" and user["sms_enabled"] is True

    edit = await admin.get(f"/users/{user['id']}/edit")
    assert form_value(edit.text, "name") == "Erin Example"
    r = await admin.post(
        f"/users/{user['id']}/edit",
        {"extension": "121", "name": "Erin Edited", "email": "", "role": "admin"},
    )
    assert r.status_code == 303
    user = await api_user(acme, "121")
    assert user["name"] == "Erin Edited" and user["role"] == "admin"
    assert user["email"] is None and user["sms_enabled"] is False

    confirm = await admin.get(f"/users/{user['id']}/delete")
    assert "Delete extension 121?" in confirm.text
    r = await admin.post(f"/users/{user['id']}/delete")
    assert r.status_code == 303
    assert user["id"] not in row_ids((await admin.get("/users")).text, "users")
    assert (await admin.get(f"/users/{user['id']}/edit")).status_code == 404


async def test_a_new_user_can_sign_in_with_the_password_set_in_the_form(browsers, admin: Browser):
    await admin.post(
        "/users/new", {"extension": "130", "name": "Pat", "role": "user", "password": "pat-pass-12"}
    )
    pat = browsers.new()
    await pat.login("acme", "130", "pat-pass-12")
    home = await pat.get("/")
    assert "Welcome, Pat" in home.text
    assert 'href="/users"' not in home.text  # no admin navigation for a user


async def test_duplicate_extension_is_an_inline_error_that_keeps_the_values(admin: Browser, acme):
    await acme.user("101")
    r = await admin.post(
        "/users/new", {"extension": "101", "name": "Twin", "email": "twin@example.com"}
    )
    assert r.status_code == 422
    assert field_error(r.text, "extension") == "Extension 101 exists already."
    assert form_value(r.text, "name") == "Twin"
    assert form_value(r.text, "email") == "twin@example.com"
    assert form_value(r.text, "password") == ""  # a password is never sent back


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("extension", "1", "Extension must be 2 to 10 digits"),
        ("extension", "12a", "Extension must be 2 to 10 digits"),
        ("name", "   ", "Name is required"),
        ("email", "not-an-email", "Email must be an email address"),
        ("password", "short", "at least 8 characters"),
    ],
)
async def test_invalid_fields_show_the_rule_next_to_the_field(
    admin: Browser, field, value, message
):
    data = {"extension": "140", "name": "Valid Name", "email": "", "password": ""}
    data[field] = value
    r = await admin.post("/users/new", data)
    assert r.status_code == 422
    error = field_error(r.text, field)
    assert error is not None and message in error
    assert 'aria-invalid="true"' in r.text


async def test_an_admin_cannot_delete_or_demote_themselves(admin: Browser, acme):
    me = acme.admin_id
    r = await admin.post(f"/users/{me}/delete")
    assert r.status_code == 409
    assert "You cannot delete your own extension." in r.text
    r = await admin.post(f"/users/{me}/edit", {"extension": "100", "name": "Admin", "role": "user"})
    assert r.status_code == 422
    assert field_error(r.text, "role") == "You cannot remove your own admin role."
    assert (await admin.get("/users")).status_code == 200  # still an admin


async def test_user_text_is_escaped(admin: Browser, acme):
    await acme.user("150", name="<script>alert(1)</script>")
    page = await admin.get("/users")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_htmx_delete_of_own_extension_reports_into_the_alert_area(admin: Browser, acme):
    r = await admin.client.post(
        f"/users/{acme.admin_id}/delete",
        headers={"HX-Request": "true", "X-CSRF-Token": admin.csrf or ""},
    )
    assert r.status_code == 409
    assert r.headers["HX-Retarget"] == "#alerts"
    assert "You cannot delete your own extension." in r.text and "<html" not in r.text
