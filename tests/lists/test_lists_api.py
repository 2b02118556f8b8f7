"""Lists (B1) and the blocklist (B5) through the API, on a real database."""

from __future__ import annotations

from typing import Any

from tests.factories import TenantCtx

BIG = "+1415555" + "9" * (5 * 1024 * 1024)
DIRTY = (
    "\ufeffnumber;first_name\r\n"
    "+14155550101;Ann\r\n"
    "\r\n"
    "(415) 555-0102;Bob\r\n"
    "+14155550101;Ann again\r\n"
    "+1;Carl\r\n"
    "call-me;Dan\r\n"
    "+14155550103,Eve\r\n"
    "+14155550104\r\n"
    '"+1 415 555 0105";"Fay; Jr"\r\n'
    f"{BIG};Huge\r\n"
    "+14155550106;Gus\n"
)


async def _list(t: TenantCtx, name: str = "Customers") -> dict[str, Any]:
    r = await t.admin.post("/api/v1/lists", json={"name": name})
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def _import(t: TenantCtx, list_id: str, text: str, country: str | None = "US") -> Any:
    files = {"file": ("x.csv", text.encode(), "text/csv")}
    data = {"country": country} if country else {}
    return await t.admin.post(f"/api/v1/lists/{list_id}/import", files=files, data=data)


async def test_dirty_csv_gives_an_exact_report(tenants):
    t = await tenants.make()
    await t.admin.post("/api/v1/blocklist", json={"e164": "+14155550103"})
    lst = await _list(t)
    r = await _import(t, lst["id"], DIRTY)
    assert r.status_code == 200, r.text[:500]
    report = r.json()
    assert report["imported"] == 5
    assert report["blocklisted"] == 1
    assert report["columns"] == ["first_name"]
    assert report["rejected"] == [
        {"row": 5, "value": "+14155550101", "reason": "duplicate"},
        {"row": 6, "value": "+1", "reason": "invalid E.164 number"},
        {"row": 7, "value": "call-me", "reason": "invalid E.164 number"},
        {"row": 9, "value": "+14155550104", "reason": "missing column"},
        {"row": 11, "value": "", "reason": "line too long"},
    ]
    entries = (await t.admin.get(f"/api/v1/lists/{lst['id']}/entries")).json()["items"]
    assert [(e["e164"], e["fields"]["first_name"]) for e in entries] == [
        ("+14155550101", "Ann"),
        ("+14155550102", "Bob"),
        ("+14155550103", "Eve"),
        ("+14155550105", "Fay; Jr"),
        ("+14155550106", "Gus"),
    ]
    # A second import of the same file: everything valid is now a duplicate.
    again = (await _import(t, lst["id"], DIRTY)).json()
    assert again["imported"] == 0
    assert sum(x["reason"] == "duplicate" for x in again["rejected"]) == 6
    export = await t.admin.get(f"/api/v1/lists/{lst['id']}/export.csv")
    assert export.text.splitlines()[:2] == ["number,first_name", "+14155550101,Ann"]
    assert (await t.admin.get(f"/api/v1/lists/{lst['id']}")).json()["entries"] == 5


async def test_bad_files_and_bodies_are_clear_422s(tenants):
    t = await tenants.make()
    lst = await _list(t)
    for text in ("", "name;city\r\nBob;Paris\r\n", "\r\n\r\n"):
        r = await _import(t, lst["id"], text)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == "file"
    r = await _import(t, lst["id"], "number\n+14155550101\n", country="usa")
    assert r.status_code == 422 and "country" in r.json()["error"]["field"]
    r = await t.admin.post(f"/api/v1/lists/{lst['id']}/import")
    assert r.status_code == 422 and r.json()["error"]["field"].endswith("file")
    for body in ({}, {"name": ""}, {"name": "x" * 300}, {"name": "x", "extra": 1}):
        r = await t.admin.post("/api/v1/lists", json=body)
        assert r.status_code == 422, body
    url = f"/api/v1/lists/{lst['id']}/entries"
    for body in ({"e164": "0415"}, {"e164": "+1"}, {"e164": "+14155550101", "fields": "x"}):
        r = await t.admin.post(url, json=body)
        assert r.status_code == 422 and r.json()["error"]["field"].startswith(("e164", "fields")), (
            body
        )
    assert (await t.admin.post(url, json={"e164": "+14155550101"})).status_code == 201
    r = await t.admin.post(url, json={"e164": "+14155550101"})
    assert r.status_code == 409 and r.json()["error"]["field"] == "e164"
    for body in ({"e164": "+1"}, {"name": "x"}):
        r = await t.admin.post("/api/v1/blocklist", json=body)
        assert r.status_code == 422, body
    r = await t.admin.put("/api/v1/compliance/keywords", json={"opt_out": ["two words"]})
    assert r.status_code == 422 and r.json()["error"]["field"].startswith("opt_out")
    r = await t.admin.put(
        "/api/v1/compliance/keywords", json={"opt_out": ["BYE"], "opt_in": ["bye"]}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "keyword_conflict"


async def test_list_lifecycle_and_entries(tenants):
    t = await tenants.make()
    lst = await _list(t)
    r = await t.admin.patch(f"/api/v1/lists/{lst['id']}", json={"name": "VIP"})
    assert r.json()["name"] == "VIP"
    url = f"/api/v1/lists/{lst['id']}/entries"
    entry = (
        await t.admin.post(url, json={"e164": "+14155550101", "fields": {"City": "Paris"}})
    ).json()
    assert entry["fields"] == {"city": "Paris"}
    r = await t.admin.patch(f"{url}/{entry['id']}", json={"e164": "+14155550102"})
    assert r.json()["e164"] == "+14155550102"
    assert (await t.admin.get(f"/api/v1/lists/{lst['id']}")).json()["columns"] == ["city"]
    assert (await t.admin.delete(f"{url}/{entry['id']}")).status_code == 204
    assert (await t.admin.get(url)).json()["items"] == []
    template = await t.admin.get("/api/v1/lists/template.csv")
    assert template.text.startswith("number,")
    assert (await t.admin.delete(f"/api/v1/lists/{lst['id']}")).status_code == 204
    assert (await t.admin.get(f"/api/v1/lists/{lst['id']}")).status_code == 404


async def test_blocklist_manual_csv_and_keywords(tenants):
    t = await tenants.make()
    r = await t.admin.post("/api/v1/blocklist", json={"e164": "+14155550101"})
    assert r.status_code == 201 and r.json()["source"] == "manual" and r.json()["created_at"]
    files = {"file": ("b.csv", b"phone\r\n4155550102\r\n+14155550101\r\nnope\r\n", "text/csv")}
    r = await t.admin.post("/api/v1/blocklist/import", files=files, data={"country": "US"})
    report = r.json()
    assert report["imported"] == 1
    assert [x["reason"] for x in report["rejected"]] == ["duplicate", "invalid E.164 number"]
    items = (await t.admin.get("/api/v1/blocklist")).json()["items"]
    assert sorted(x["e164"] for x in items) == ["+14155550101", "+14155550102"]
    assert (await t.admin.delete("/api/v1/blocklist/+14155550101")).status_code == 204
    assert (await t.admin.delete("/api/v1/blocklist/+14155550101")).status_code == 404
    r = await t.admin.put(
        "/api/v1/compliance/keywords", json={"opt_out": ["basta", "Arret"], "help": ["aide"]}
    )
    assert r.json() == {"opt_out": ["ARRET", "BASTA"], "opt_in": [], "help": ["AIDE"]}
    assert (await t.admin.get("/api/v1/compliance/keywords")).json()["help"] == ["AIDE"]


async def test_users_and_other_tenants_cannot_touch_lists_or_blocklist(tenants):
    a, b = await tenants.make("A"), await tenants.make("B")
    _, user = await a.user("201")
    lst = await _list(a)
    await a.admin.post("/api/v1/blocklist", json={"e164": "+14155550101"})
    for method, url in (
        ("GET", "/api/v1/lists"),
        ("GET", f"/api/v1/lists/{lst['id']}"),
        ("GET", "/api/v1/blocklist"),
        ("GET", "/api/v1/compliance/keywords"),
        ("POST", "/api/v1/lists"),
    ):
        r = await user.request(method, url, json={"name": "x"} if method == "POST" else None)
        assert r.status_code == 403, (method, url)
    assert (await b.admin.get(f"/api/v1/lists/{lst['id']}")).status_code == 404
    assert (await b.admin.get(f"/api/v1/lists/{lst['id']}/entries")).status_code == 404
    assert (await b.admin.delete("/api/v1/blocklist/+14155550101")).status_code == 404
    assert (await b.admin.get("/api/v1/blocklist")).json()["items"] == []
    assert (await b.admin.get("/api/v1/lists")).json()["items"] == []
