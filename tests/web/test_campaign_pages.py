"""The /campaigns, /lists and /blocklist pages: empty states, forms, progress bar."""

from __future__ import annotations

from tests.factories import messaging_tenant, run_jobs
from tests.web.conftest import Browser


async def test_empty_states_and_nav(admin: Browser):
    for url, text in (
        ("/campaigns", "No campaigns yet"),
        ("/lists", "No lists yet"),
        ("/blocklist", "The blocklist is empty"),
    ):
        r = await admin.get(url)
        assert r.status_code == 200 and text in r.text, url
        assert 'href="/campaigns"' in r.text and 'href="/blocklist"' in r.text


async def test_list_import_campaign_and_progress(admin: Browser, acme, app):
    m = await messaging_tenant(acme)
    r = await admin.post("/lists", {"name": "Friends"})
    assert r.status_code == 303
    list_url = r.headers["location"]
    csv = b"number;first_name\r\n+12025550001;Ann\r\nnope;Bob\r\n"
    r = await admin.client.post(
        f"{list_url}/import",
        data={"csrf_token": admin.csrf or "", "country": "US"},
        files={"file": ("f.csv", csv, "text/csv")},
    )
    assert r.status_code == 200 and "1 imported, 1 rejected" in r.text
    assert "invalid E.164 number" in r.text
    list_id = list_url.rsplit("/", 1)[1]
    r = await admin.post(
        "/campaigns",
        {
            "name": "Hello",
            "from": m.e164,
            "body": "Hi {first_name}",
            "rate": "50",
            "list_id": list_id,
        },
    )
    assert r.status_code == 303, r.text
    page = r.headers["location"]
    r = await admin.get(page)
    assert "<progress" in r.text and "Hi Ann" in r.text and ">Start<" in r.text
    r = await admin.post(f"{page}/start", {})
    assert r.status_code == 303
    await run_jobs(app)
    r = await admin.get(page)
    assert "completed" in r.text and 'value="1"' in r.text
    assert "Hello" in (await admin.get("/campaigns?status=completed")).text
    assert "No draft campaigns" in (await admin.get("/campaigns?status=draft")).text


async def test_a_campaign_under_a_sender_id_from_the_page(admin: Browser, acme, app):
    m = await messaging_tenant(acme)
    await acme.admin.patch(f"/api/v1/numbers/{m.number['id']}", json={"sender_ids": ["ACME"]})
    page = await admin.get("/campaigns")
    assert '<option value="sender_id:ACME">ACME</option>' in page.text
    r = await admin.post("/lists", {"name": "L"})
    list_id = r.headers["location"].rsplit("/", 1)[1]
    await acme.admin.post(f"/api/v1/lists/{list_id}/entries", json={"e164": "+12025550001"})
    form = {"name": "Sale", "from": "sender_id:ACME", "body": "Sale!", "list_id": list_id}
    r = await admin.post("/campaigns", form)
    assert r.status_code == 303, r.text
    campaign = (await acme.admin.get("/api/v1/campaigns")).json()["items"][0]
    assert (campaign["sender_type"], campaign["from"]) == ("sender_id", "ACME")


async def test_blocklist_page_add_and_remove(admin: Browser):
    r = await admin.post("/blocklist", {"e164": "+12025550001"})
    assert r.status_code == 303
    r = await admin.get("/blocklist")
    assert "+12025550001" in r.text and "manual" in r.text
    r = await admin.post("/blocklist", {"e164": "12345"})
    assert r.status_code == 303
    await admin.post("/blocklist/+12025550001/remove", {})
    assert "The blocklist is empty" in (await admin.get("/blocklist")).text


async def test_users_cannot_open_the_pages(browsers, acme):
    await acme.user("201", password="secret-pass-1")
    b = browsers.new()
    await b.login("acme", "201")
    for url in ("/campaigns", "/lists", "/blocklist"):
        assert (await b.get(url)).status_code == 403, url


async def test_prices_page_saves_rules_and_reports_a_bad_line(admin: Browser, acme):
    r = await admin.get("/prices")
    assert r.status_code == 200 and 'href="/prices"' in r.text and "<textarea" in r.text
    r = await admin.post("/prices", {"rules": "+1 0.0075\r\n\r\n+4477, 0.04\r\n"})
    assert r.status_code == 303, r.text
    rules = (await acme.admin.get("/api/v1/rating-rules")).json()["rules"]
    assert [(x["prefix"], x["price_per_segment"]) for x in rules] == [
        ("+1", "0.00750"),
        ("+4477", "0.04000"),
    ]
    assert "+1 0.0075\n+4477 0.04" in (await admin.get("/prices")).text
    r = await admin.post("/prices", {"rules": "+1 0.01\n44 0.02"})
    assert r.status_code == 422 and "Line 2:" in r.text and "44 0.02" in r.text
    r = await admin.post("/prices", {"rules": "+1 0.01 extra"})
    assert r.status_code == 422 and "Line 1: write a prefix and a price" in r.text
    assert len((await acme.admin.get("/api/v1/rating-rules")).json()["rules"]) == 2
