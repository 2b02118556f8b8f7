"""Contacts through the forms: several numbers, shared and personal phonebooks."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Browser, Browsers, field_error, form_value, row_ids


async def api_contacts(client, q: str | None = None) -> list[dict[str, Any]]:
    params = {"q": q} if q else {}
    items: list[dict[str, Any]] = (await client.get("/api/v1/contacts", params=params)).json()[
        "items"
    ]
    return items


async def test_empty_contacts_page_explains_what_to_do(admin: Browser):
    page = await admin.get("/contacts")
    assert "No contacts yet" in page.text and 'href="/contacts/new"' in page.text


async def test_admin_creates_edits_and_deletes_a_shared_contact(admin: Browser, acme):
    r = await admin.post(
        "/contacts/new",
        [("name", "Erin Example"), ("email", "erin@example.com"), ("scope", "shared"),
         ("number_e164", "+12025550123"), ("number_label", "Mobile"),
         ("number_e164", "+61400123456"), ("number_label", "Office"),
         ("number_e164", ""), ("number_label", "")],
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/contacts"
    [contact] = await api_contacts(acme.admin)
    assert contact["email"] == "erin@example.com" and contact["personal"] is False
    assert [(n["e164"], n["label"]) for n in contact["numbers"]] == [
        ("+12025550123", "Mobile"),
        ("+61400123456", "Office"),
    ]
    listed = await admin.get("/contacts")
    assert "Contact Erin Example added." in listed.text
    assert "+1 202-555-0123" in listed.text and "Office" in listed.text and "Shared" in listed.text

    edit = await admin.get(f"/contacts/{contact['id']}/edit")
    assert form_value(edit.text, "name") == "Erin Example"
    assert 'value="+61400123456"' in edit.text
    r = await admin.post(
        f"/contacts/{contact['id']}/edit",
        [("name", "Erin E."), ("email", ""), ("number_e164", "+61400123456"), ("number_label", "")],
    )
    assert r.status_code == 303
    [contact] = await api_contacts(acme.admin)
    assert contact["name"] == "Erin E." and contact["email"] is None
    assert [n["e164"] for n in contact["numbers"]] == ["+61400123456"]

    assert (
        "Delete the contact Erin E.?" in (await admin.get(f"/contacts/{contact['id']}/delete")).text
    )
    r = await admin.post(f"/contacts/{contact['id']}/delete")
    assert r.status_code == 303
    assert await api_contacts(acme.admin) == []


async def test_a_bad_number_in_a_row_is_shown_on_that_row(admin: Browser, acme):
    r = await admin.post(
        "/contacts/new",
        [("name", "Frank"), ("email", "frank@"),
         ("number_e164", "+12025550123"), ("number_label", "Mobile"),
         ("number_e164", "0400 123 456"), ("number_label", "Work")],
    )  # fmt: skip
    assert r.status_code == 422
    assert field_error(r.text, "numbers-0-e164") is None
    error = field_error(r.text, "numbers-1-e164")
    assert error and "must be in E.164 format" in error and "+61400123456" in error
    assert field_error(r.text, "email") == "Email must be an email address like name@example.com"
    assert 'value="0400 123 456"' in r.text and 'value="Work"' in r.text
    assert form_value(r.text, "name") == "Frank"
    assert await api_contacts(acme.admin) == []


async def test_users_see_shared_contacts_and_manage_their_own(
    browsers: Browsers, admin: Browser, acme
):
    await acme.user("101", password="bob-pass-12", name="Bob")
    await acme.user("102", password="carol-pass-12", name="Carol")
    shared = (
        await acme.admin.post(
            "/api/v1/contacts", json={"name": "Shared Sam", "numbers": ["+12025550100"]}
        )
    ).json()
    bob = browsers.new()
    await bob.login("acme", "101", "bob-pass-12")
    page = await bob.get("/contacts")
    assert "Shared Sam" in page.text and "Managed by admins" in page.text
    assert shared["id"] not in row_ids(page.text, "contacts")  # no edit link
    assert (await bob.get(f"/contacts/{shared['id']}/edit")).status_code == 403
    r = await bob.post(f"/contacts/{shared['id']}/delete")
    assert r.status_code == 403 and "Only admins change shared contacts." in r.text

    form = await bob.get("/contacts/new")
    assert 'name="scope"' not in form.text  # a user's contacts are always personal
    r = await bob.post(
        "/contacts/new",
        [("name", "Bob's plumber"), ("number_e164", "+12025550199"), ("number_label", "")],
    )
    assert r.status_code == 303
    page = await bob.get("/contacts")
    assert "Bob&#39;s plumber" in page.text and "Personal" in page.text
    assert await api_contacts(acme.admin, "plumber") == []  # the admin does not see it
    own_id = next(iter(row_ids(page.text, "contacts")))
    assert (await bob.get(f"/contacts/{own_id}/edit")).status_code == 200

    carol = browsers.new()
    await carol.login("acme", "102", "carol-pass-12")
    assert "plumber" not in (await carol.get("/contacts")).text
    assert (await carol.get(f"/contacts/{own_id}/edit")).status_code == 404
    search = await admin.get("/contacts", params={"q": "plumber"})
    assert "No contacts match" in search.text and own_id not in search.text


async def test_search_contacts_by_name_and_number(admin: Browser, acme):
    await acme.admin.post("/api/v1/contacts", json={"name": "Erin", "numbers": ["+12025550123"]})
    await acme.admin.post("/api/v1/contacts", json={"name": "Frank", "numbers": ["+61400123456"]})
    page = await admin.get("/contacts", params={"q": "6140"})
    assert "Frank" in page.text and "Erin" not in page.text
    page = await admin.get("/contacts", params={"q": "eri"})
    assert "Erin" in page.text and "Frank" not in page.text
