"""Contacts: several numbers, email, shared and personal."""

from __future__ import annotations


async def test_contact_with_several_numbers_and_search(tenants):
    t = await tenants.make()
    r = await t.admin.post(
        "/api/v1/contacts",
        json={
            "name": "Erin Example",
            "email": "erin@example.com",
            "numbers": ["+12025550123", {"e164": "+61400123456", "label": "mobile"}],
        },
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert [n["e164"] for n in c["numbers"]] == ["+12025550123", "+61400123456"]
    assert c["personal"] is False
    for q in ("erin", "61400", "example.com"):
        items = (await t.admin.get("/api/v1/contacts", params={"q": q})).json()["items"]
        assert [x["id"] for x in items] == [c["id"]], q
    r = await t.admin.patch(f"/api/v1/contacts/{c['id']}", json={"numbers": ["+14155550100"]})
    assert [n["e164"] for n in r.json()["numbers"]] == ["+14155550100"]
    assert (await t.admin.delete(f"/api/v1/contacts/{c['id']}")).status_code == 204


async def test_personal_and_shared_contacts(tenants):
    t = await tenants.make()
    _, alice = await t.user("201")
    _, bob = await t.user("202")
    shared = (await t.admin.post("/api/v1/contacts", json={"name": "Shared"})).json()
    mine = (await alice.post("/api/v1/contacts", json={"name": "Alice's mum"})).json()
    assert mine["personal"] is True
    assert {x["name"] for x in (await alice.get("/api/v1/contacts")).json()["items"]} == {
        "Shared",
        "Alice's mum",
    }
    assert [x["name"] for x in (await bob.get("/api/v1/contacts")).json()["items"]] == ["Shared"]
    assert (await bob.get(f"/api/v1/contacts/{mine['id']}")).status_code == 404
    assert (
        await alice.patch(f"/api/v1/contacts/{shared['id']}", json={"name": "X"})
    ).status_code == 403
    assert (await alice.delete(f"/api/v1/contacts/{mine['id']}")).status_code == 204


async def test_contact_bad_input(tenants):
    t = await tenants.make()
    r = await t.admin.post("/api/v1/contacts", json={"name": "X", "numbers": ["0400 123 456"]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "numbers.0.e164"
    r = await t.admin.post("/api/v1/contacts", json={"name": "X", "email": "not-an-email"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "email"
