"""SMS numbers through the admin forms: E.164 errors, assignment, status and flags."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import Browser, field_error, form_value, row_ids


async def api_number(acme, e164: str) -> dict[str, Any]:
    items = (await acme.admin.get("/api/v1/numbers", params={"q": e164})).json()["items"]
    return next(n for n in items if n["e164"] == e164)


async def test_empty_numbers_page_explains_what_to_do(admin: Browser):
    page = await admin.get("/numbers")
    assert "No SMS numbers yet" in page.text
    assert 'href="/numbers/new"' in page.text


async def test_create_a_number_with_assignees(admin: Browser, acme):
    bob, _ = await acme.user("101", name="Bob Baker")
    carol, _ = await acme.user("102", name="Carol Chen")
    form = await admin.get("/numbers/new")
    assert 'id="f-e164"' in form.text and "Bob Baker" in form.text
    r = await admin.post(
        "/numbers/new",
        [
            ("e164", "+14155550199"),
            ("label", "Front desk"),
            ("status", "provisioning"),
            ("sms_enabled", "on"),
            ("mms_enabled", "on"),
            ("user_ids", bob),
            ("user_ids", carol),
        ],
    )
    assert r.status_code == 303 and r.headers["location"] == "/numbers"
    number = await api_number(acme, "+14155550199")
    assert number["label"] == "Front desk" and number["status"] == "provisioning"
    assert number["sms_enabled"] and number["mms_enabled"]
    assert {a["id"] for a in number["assignees"]} == {bob, carol}
    listed = await admin.get("/numbers")
    assert "+1 415-555-0199 added." in listed.text
    assert "Front desk" in listed.text and "Provisioning" in listed.text
    assert "Bob Baker" in listed.text and "Carol Chen" in listed.text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "0400 123 456",
            "must be in E.164 format: '+', country code and number, for example +61400123456",
        ),
        ("+61 400 123 456", "must be '+' followed by up to 15 digits, for example +61400123456"),
        ("+999", "for example +61400123456"),
        ("", "Phone number must be in E.164 format"),
    ],
)
async def test_a_bad_number_is_an_inline_error_that_keeps_the_input(
    admin: Browser, acme, value, message
):
    bob, _ = await acme.user("101")
    r = await admin.post(
        "/numbers/new",
        [("e164", value), ("label", "Typo"), ("user_ids", bob)],
    )
    assert r.status_code == 422
    error = field_error(r.text, "e164")
    assert error is not None and message in error, error
    assert form_value(r.text, "e164") == value
    assert form_value(r.text, "label") == "Typo"
    assert f'value="{bob}" checked' in r.text
    assert "autofocus" in r.text.split('id="f-e164"')[1].split(">")[0]
    assert (await acme.admin.get("/api/v1/numbers")).json()["items"] == []


async def test_a_duplicate_number_is_an_inline_error(admin: Browser, acme, tenants):
    await acme.number("+14155550100")
    r = await admin.post("/numbers/new", {"e164": "+14155550100", "label": "Again"})
    assert r.status_code == 422
    assert field_error(r.text, "e164") == "+14155550100 is already in use."
    other = await tenants.make("Other Co")
    await other.number("+14155550111")
    r = await admin.post("/numbers/new", {"e164": "+14155550111"})
    assert field_error(r.text, "e164") == "+14155550111 is already in use."


async def test_edit_a_number_and_its_assignment(admin: Browser, acme):
    bob, _ = await acme.user("101", name="Bob Baker")
    dave, _ = await acme.user("103", name="Dave Diaz")
    number = await acme.number("+14155550100", label="Sales")
    await acme.admin.put(f"/api/v1/numbers/{number['id']}/assignees", json={"user_ids": [bob]})
    edit = await admin.get(f"/numbers/{number['id']}/edit")
    assert edit.status_code == 200
    assert "+1 415-555-0100" in edit.text and 'name="e164"' not in edit.text
    assert f'value="{bob}" checked' in edit.text and f'value="{dave}" checked' not in edit.text
    r = await admin.post(
        f"/numbers/{number['id']}/edit",
        [("label", "Sales team"), ("status", "active"), ("mms_enabled", "on"), ("user_ids", dave)],
    )
    assert r.status_code == 303
    after = await api_number(acme, "+14155550100")
    assert after["label"] == "Sales team"
    assert after["sms_enabled"] is False and after["mms_enabled"] is True
    assert [a["id"] for a in after["assignees"]] == [dave]


async def test_one_number_per_extension_is_an_inline_error(admin: Browser, acme):
    bob, _ = await acme.user("101", name="Bob Baker")
    first = await acme.number("+14155550100")
    await acme.admin.put(f"/api/v1/numbers/{first['id']}/assignees", json={"user_ids": [bob]})
    form = await admin.get("/numbers/new")
    assert "has +1 415-555-0100" in form.text
    r = await admin.post("/numbers/new", [("e164", "+14155550101"), ("user_ids", bob)])
    assert r.status_code == 422
    error = field_error(r.text, "user_ids")
    assert error and "Extension 101 already has +14155550100" in error
    # Nothing was half-done: the number was not created without its assignees.
    assert [n["e164"] for n in (await acme.admin.get("/api/v1/numbers")).json()["items"]] == [
        "+14155550100"
    ]


async def test_delete_a_number_after_confirmation(admin: Browser, acme):
    number = await acme.number("+14155550100", label="Sales")
    confirm = await admin.get(f"/numbers/{number['id']}/delete")
    assert "Delete +1 415-555-0100?" in confirm.text
    assert "Its message history is kept." in confirm.text
    r = await admin.post(f"/numbers/{number['id']}/delete")
    assert r.status_code == 303
    page = await admin.get("/numbers")
    assert "+1 415-555-0100 deleted." in page.text
    assert number["id"] not in row_ids(page.text, "numbers")


async def test_search_numbers(admin: Browser, acme):
    await acme.number("+14155550100", label="Sales")
    await acme.number("+61400123456", label="Sydney")
    page = await admin.get("/numbers", params={"q": "sydney"})
    assert "+61 400 123 456" in page.text and "415-555-0100" not in page.text
    page = await admin.get("/numbers", params={"q": "4155"})
    assert "415-555-0100" in page.text and "+61 400 123 456" not in page.text
    assert "No numbers match" in (await admin.get("/numbers", params={"q": "nothing"})).text


async def test_register_sender_ids_on_a_number_page(admin: Browser, acme):
    number = await acme.number("+14155550100", label="Sales")
    url = f"/numbers/{number['id']}/edit"
    fields = [("label", "Sales"), ("status", "active"), ("sms_enabled", "on")]
    r = await admin.post(url, [*fields, ("sender_ids", "ACME, Acme Shop")])
    assert r.status_code == 303, r.text
    assert (await api_number(acme, "+14155550100"))["sender_ids"] == ["ACME", "Acme Shop"]
    assert 'value="ACME, Acme Shop"' in (await admin.get(url)).text
    # A bad one is an inline error on the field, and the input is kept.
    r = await admin.post(url, [*fields, ("sender_ids", "ACME, 12345")])
    assert r.status_code == 422
    assert "Sender IDs must contain at least one letter" in r.text
    assert 'value="ACME, 12345"' in r.text
    assert (await api_number(acme, "+14155550100"))["sender_ids"] == ["ACME", "Acme Shop"]
