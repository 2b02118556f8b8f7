"""Every unsafe page request carries the session's CSRF token (form field or header)."""

from __future__ import annotations

import pytest

from tests.web.conftest import Browser


@pytest.mark.parametrize("token", [None, "", "forged-token"])
async def test_a_form_without_the_sessions_token_is_refused(admin: Browser, acme, token):
    data = {"extension": "150", "name": "Mallory"}
    if token is not None:
        data["csrf_token"] = token
    r = await admin.post("/users/new", data, csrf=False)
    assert r.status_code == 403
    assert "This form has expired or did not come from this site" in r.text
    users = (await acme.admin.get("/api/v1/users", params={"q": "Mallory"})).json()["items"]
    assert users == []


async def test_the_token_of_another_session_is_refused(browsers, admin: Browser, acme):
    other = await browsers.admin_of(acme, "Acme")
    assert other.csrf and other.csrf != admin.csrf
    r = await admin.post(
        "/users/new", {"extension": "150", "name": "Mallory", "csrf_token": other.csrf}, csrf=False
    )
    assert r.status_code == 403


async def test_htmx_requests_send_the_token_as_a_header(admin: Browser, acme):
    number = await acme.number("+14155550100")
    url = f"/numbers/{number['id']}/delete"
    htmx = {"HX-Request": "true", "HX-Target": "row"}
    r = await admin.client.post(url, headers={**htmx, "X-CSRF-Token": "forged"})
    assert r.status_code == 403
    assert r.headers["HX-Retarget"] == "#alerts"
    r = await admin.client.post(url, headers={**htmx, "X-CSRF-Token": admin.csrf or ""})
    assert r.status_code == 200
    assert 'hx-swap-oob="innerHTML"' in r.text and "deleted" in r.text
    assert (await acme.admin.get(f"/api/v1/numbers/{number['id']}")).status_code == 404


async def test_each_form_on_a_page_carries_the_token(admin: Browser):
    page = await admin.get("/users/new")
    assert page.text.count(f'name="csrf_token" value="{admin.csrf}"') == 2  # the form and Logout
