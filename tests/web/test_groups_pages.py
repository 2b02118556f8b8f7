"""Call groups through the admin forms: members and one number."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Browser, field_error, form_value, row_ids


async def api_groups(acme) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await acme.admin.get("/api/v1/groups")).json()["items"]
    return items


async def test_empty_groups_page_explains_what_to_do(admin: Browser):
    page = await admin.get("/groups")
    assert "No call groups yet" in page.text and 'href="/groups/new"' in page.text


async def test_create_edit_and_delete_a_group(admin: Browser, acme):
    carol, _ = await acme.user("102", name="Carol Chen")
    dave, _ = await acme.user("103", name="Dave Diaz")
    support = await acme.number("+14155550102", label="Support line")
    form = await admin.get("/groups/new")
    assert "Carol Chen" in form.text and "+1 415-555-0102 · Support line" in form.text
    r = await admin.post(
        "/groups/new",
        [
            ("name", "Support"),
            ("number_id", support["id"]),
            ("member_ids", carol),
            ("member_ids", dave),
        ],
    )
    assert r.status_code == 303 and r.headers["location"] == "/groups"
    [group] = await api_groups(acme)
    assert group["name"] == "Support" and group["number_id"] == support["id"]
    assert {m["id"] for m in group["members"]} == {carol, dave}
    listed = await admin.get("/groups")
    assert "Group Support added." in listed.text
    assert "+1 415-555-0102" in listed.text and "Dave Diaz" in listed.text

    edit = await admin.get(f"/groups/{group['id']}/edit")
    assert form_value(edit.text, "name") == "Support"
    assert f'value="{support["id"]}" selected' in edit.text
    r = await admin.post(
        f"/groups/{group['id']}/edit",
        [("name", "Helpdesk"), ("number_id", ""), ("member_ids", dave)],
    )
    assert r.status_code == 303
    [group] = await api_groups(acme)
    assert group["name"] == "Helpdesk" and group["number_id"] is None
    assert [m["id"] for m in group["members"]] == [dave]

    confirm = await admin.get(f"/groups/{group['id']}/delete")
    assert "Delete the group Helpdesk?" in confirm.text
    r = await admin.post(f"/groups/{group['id']}/delete")
    assert r.status_code == 303
    assert await api_groups(acme) == []
    assert group["id"] not in row_ids((await admin.get("/groups")).text, "groups")


async def test_a_number_serves_one_group_inline_error(admin: Browser, acme):
    number = await acme.number("+14155550102")
    r = await acme.admin.post("/api/v1/groups", json={"name": "Support", "number_id": number["id"]})
    assert r.status_code == 201
    form = await admin.get("/groups/new")
    assert "(serves Support)" in form.text
    r = await admin.post("/groups/new", {"name": "Sales", "number_id": number["id"]})
    assert r.status_code == 422
    assert field_error(r.text, "number_id") == "+14155550102 already serves the group 'Support'."
    assert form_value(r.text, "name") == "Sales"
    assert len(await api_groups(acme)) == 1


async def test_group_name_is_required(admin: Browser):
    r = await admin.post("/groups/new", {"name": "  "})
    assert r.status_code == 422
    assert field_error(r.text, "name") == "Name is required"


async def test_search_groups(admin: Browser, acme):
    for name in ("Support", "Sales"):
        await acme.admin.post("/api/v1/groups", json={"name": name})
    page = await admin.get("/groups", params={"q": "supp"})
    assert "Support" in page.text and "Sales" not in page.text
