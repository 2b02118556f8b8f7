"""The message center and phone simulator pages, server side: what each user sees (and
does not see), escaping of message text, empty states and roles. The live behaviour in a
browser is in tests/e2e/test_message_center.py."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from markupsafe import escape

from tests.factories import TenantCtx, Tenants, messaging_tenant, run_jobs
from tests.web.conftest import Browser, Browsers

PHONE = "+12025550123"
OTHER_PHONE = "+12025550188"
XSS = "<script>alert('x')</script> & <b>bold</b>"
_BOOT = re.compile(r'<script type="application/json" id="mc-boot">(.*?)</script>', re.S)


def boot_of(page: str) -> dict[str, Any]:
    """The JSON the page hands to messages.js."""
    found = _BOOT.search(page)
    assert found, "no mc-boot block"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def conversation_links(page: str) -> set[str]:
    return set(re.findall(r'class="mc-conv[^"]*" href="/messages/([0-9A-Z]{26})"', page))


@dataclass
class Shop:
    """Tenant Acme: the Sales number shared by 201 and 202, a private line for 203."""

    t: TenantCtx
    sales: dict[str, Any]
    private: dict[str, Any]


async def _inbound(t: TenantCtx, frm: str, to: str, body: str) -> None:
    r = await t.admin.post("/api/v1/simulator/inbound", json={"from": frm, "to": to, "body": body})
    assert r.status_code == 202, r.text
    assert r.json()["message_id"], r.text


@pytest.fixture
async def shop(acme: TenantCtx) -> Shop:
    m = await messaging_tenant(acme, users=0)
    for ext in ("201", "202", "203"):
        await acme.user(ext, name=f"Agent {ext}", password=f"pass-{ext}-word")
    users = (await acme.admin.get("/api/v1/users", params={"limit": 50})).json()["items"]
    ids = {u["extension"]: u["id"] for u in users}
    await acme.admin.patch("/api/v1/tenant", json={"one_number_per_extension": False})
    r = await acme.admin.put(
        f"/api/v1/numbers/{m.number['id']}/assignees", json={"user_ids": [ids["201"], ids["202"]]}
    )
    assert r.status_code == 200, r.text
    private = await acme.number("+14155550111", connector_id=m.connector_id, label="Private")
    r = await acme.admin.put(
        f"/api/v1/numbers/{private['id']}/assignees", json={"user_ids": [ids["203"]]}
    )
    assert r.status_code == 200, r.text
    await _inbound(acme, PHONE, m.e164, XSS)
    await _inbound(acme, OTHER_PHONE, private["e164"], "private line secret")
    return Shop(acme, m.number, private)


async def login(browsers: Browsers, ext: str) -> Browser:
    b = browsers.new()
    await b.login("acme", ext, f"pass-{ext}-word")
    return b


async def test_the_page_shows_my_conversations_only(browsers: Browsers, shop: Shop, tenants):
    other = await tenants.make("Other Co")
    om = await messaging_tenant(other, e164="+14155550177", users=0)
    await om.inbound(PHONE, "other tenant secret")

    bob = await login(browsers, "201")
    r = await bob.get("/messages")
    assert r.status_code == 200
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    page = r.text
    assert len(conversation_links(page)) == 1
    assert "+1 202-555-0123" in page
    assert "private line secret" not in page and "other tenant secret" not in page
    boot = boot_of(page)
    [conv] = boot["conversations"]["items"]
    assert conv["remote"] == PHONE and conv["unread"] == 1
    assert [u["extension"] for u in conv["shared_with"]] == ["201", "202"]
    assert boot["me"]["numbers"][0]["e164"] == shop.sales["e164"]
    assert boot["me"]["preferences"] == {
        "notify_sound": True,
        "notify_browser": True,
        "enter_sends": True,
    }
    assert boot["me"]["policy"] == {"max_segments": 4, "max_chars": 670, "smart_encoding": True}
    assert boot["unread_total"] == 1
    # Unread: bold row, count pill, badge and title.
    assert 'class="mc-conv is-unread"' in page
    assert '<span class="mc-pill">1<span class="visually-hidden"> unread</span></span>' in page
    assert "<title>(1) Messages · smshub</title>" in page
    assert 'href="/messages" class="nav-messages" aria-current="page"' in page

    # 203 sees the private line only; a deep link into another's thread is a 404.
    carol = await login(browsers, "203")
    page203 = (await carol.get("/messages")).text
    assert "private line secret" in page203 and "&lt;script&gt;" not in page203
    private_id = boot_of(page203)["conversations"]["items"][0]["id"]
    assert (await bob.get(f"/messages/{private_id}")).status_code == 404
    assert (await carol.get(f"/messages/{conv['id']}")).status_code == 404
    other_conv = (await om.t.admin.get("/api/v1/messages", params={"direction": "in"})).json()
    for item in other_conv["items"]:
        r = await bob.get(f"/messages/{item['conversation_id']}")
        assert r.status_code == 404
        assert "other tenant secret" not in r.text
    assert (await bob.get("/messages/not-an-id")).status_code == 404


async def test_message_text_is_escaped_everywhere(browsers: Browsers, shop: Shop):
    bob = await login(browsers, "201")
    boot = boot_of((await bob.get("/messages")).text)
    conv_id = boot["conversations"]["items"][0]["id"]
    r = await bob.get(f"/messages/{conv_id}")
    assert r.status_code == 200
    page = r.text
    assert XSS not in page
    assert "<script>alert" not in page
    # In the list preview and the bubble, as text.
    escaped = str(escape(XSS))
    assert page.count(escaped) >= 2  # the list preview and the bubble
    assert f'<p class="mc-text">{escaped}</p>' in page
    # In the JSON block, "<" is escaped so the text cannot end the block.
    block = _BOOT.search(page)
    assert block and "</script>" not in block.group(1) and "<b>" not in block.group(1)
    data = boot_of(page)
    assert data["thread"]["items"][0]["body"] == XSS
    assert data["selected"]["id"] == conv_id


async def test_a_thread_deep_link_renders_messages_with_senders(
    browsers: Browsers, shop: Shop, app
):
    bob = await login(browsers, "201")
    conv_id = boot_of((await bob.get("/messages")).text)["conversations"]["items"][0]["id"]
    headers = {"X-CSRF-Token": bob.csrf or ""}
    r = await bob.client.post(
        "/api/v1/messages",
        json={"from": shop.sales["e164"], "to": PHONE, "body": "On its way"},
        headers=headers,
    )
    assert r.status_code == 202, r.text
    await run_jobs(app)
    page = (await bob.get(f"/messages/{conv_id}")).text
    thread = page.split('id="mc-messages"')[1].split("</ol>")[0]
    assert thread.index("&lt;script&gt;") < thread.index("On its way")  # oldest first
    assert 'class="mc-msg mc-out is-delivered"' in page
    assert '<span class="mc-sender-name">Agent 201</span>' in page
    assert "Multiple users share this number" in page
    assert '<span class="mc-member-name">Agent 202</span>' in page
    assert "Shared number" in page
    # The other sharer sees the same thread and who sent the reply.
    anna = await login(browsers, "202")
    page202 = (await anna.get(f"/messages/{conv_id}")).text
    assert "On its way" in page202 and "Ext. 201" in page202


async def test_a_user_without_numbers_sees_how_to_start(browsers: Browsers, acme: TenantCtx):
    await acme.user("150", name="New Hire", password="new-hire-pass")
    b = browsers.new()
    await b.login("acme", "150", "new-hire-pass")
    r = await b.get("/messages")
    assert r.status_code == 200
    assert "No SMS number yet" in r.text
    assert "Ask your admin to assign one." in r.text
    assert re.search(r'id="mc-new-btn"[^>]*disabled', r.text)
    assert boot_of(r.text)["me"]["numbers"] == []


async def test_an_admin_with_a_number_but_no_conversations_is_pointed_to_the_simulator(
    admin: Browser, acme: TenantCtx
):
    m = await messaging_tenant(acme, users=0)
    r = await acme.admin.put(
        f"/api/v1/numbers/{m.number['id']}/assignees", json={"user_ids": [acme.admin_id]}
    )
    assert r.status_code == 200
    page = (await admin.get("/messages")).text
    assert "No conversations yet" in page
    assert 'href="/simulator"' in page


async def test_several_numbers_get_a_from_selector(browsers: Browsers, shop: Shop):
    users = (await shop.t.admin.get("/api/v1/users", params={"q": "Agent 201"})).json()["items"]
    r = await shop.t.admin.put(
        f"/api/v1/numbers/{shop.private['id']}/assignees", json={"user_ids": [users[0]["id"]]}
    )
    assert r.status_code == 200, r.text
    bob = await login(browsers, "201")
    page = (await bob.get("/messages")).text
    assert '<div class="mc-from">' in page
    select = page.split('<select id="mc-from">')[1].split("</select>")[0]
    assert "+1 415-555-0100" in select and "Private · +1 415-555-0111" in select
    assert '<span class="mc-conv-via">' in page  # which line each conversation is on
    one = await login(browsers, "202")
    assert '<div class="mc-from" hidden>' in (await one.get("/messages")).text


async def test_search_without_script(browsers: Browsers, shop: Shop):
    bob = await login(browsers, "201")
    assert len(conversation_links((await bob.get("/messages?q=bold")).text)) == 1
    page = (await bob.get("/messages?q=nothing-like-this")).text
    assert conversation_links(page) == set()
    assert 'value="nothing-like-this"' in page


async def test_signed_out_goes_to_login(tenants: Tenants):
    anon = tenants.anonymous()
    r = await anon.get("/messages")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fmessages"
    await anon.aclose()


async def test_simulator_page_is_for_admins(browsers: Browsers, shop: Shop, admin: Browser):
    bob = await login(browsers, "201")
    r = await bob.get("/simulator")
    assert r.status_code == 403
    assert "This page is for company admins." in r.text
    assert 'href="/simulator"' not in (await bob.get("/")).text

    r = await admin.get("/simulator")
    assert r.status_code == 200
    assert 'href="/simulator" aria-current="page"' in r.text
    assert f'data-phone="{PHONE}"' in r.text
    assert f'data-number="{shop.sales["e164"]}"' in r.text
    assert "Private · +1 415-555-0111" in r.text
    r = await admin.get("/simulator", params={"phone": "+61400123456", "number": "+14155550111"})
    assert 'data-phone="+61400123456"' in r.text and 'data-number="+14155550111"' in r.text
    r = await admin.get("/simulator", params={"phone": "0400 123"})
    assert "must be in E.164 format" in r.text
    assert 'id="sim-body" rows="1" placeholder="Text message" maxlength="5000" disabled' in r.text


async def test_simulator_page_without_numbers(admin: Browser):
    r = await admin.get("/simulator")
    assert r.status_code == 200
    assert "No SMS numbers yet" in r.text and 'href="/numbers/new"' in r.text


async def test_preferences_from_the_page_need_the_csrf_header(browsers: Browsers, shop: Shop):
    bob = await login(browsers, "201")
    r = await bob.client.patch("/api/v1/me/preferences", json={"enter_sends": False})
    assert r.status_code == 403
    r = await bob.client.patch(
        "/api/v1/me/preferences",
        json={"enter_sends": False},
        headers={"X-CSRF-Token": bob.csrf or ""},
    )
    assert r.status_code == 200, r.text
    page = (await bob.get("/messages")).text
    assert boot_of(page)["me"]["preferences"]["enter_sends"] is False
    assert "Shift+Enter to send · Enter for a new line" in page
