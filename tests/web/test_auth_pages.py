"""Sign in, sign out, the session cookie and the login redirect."""

from __future__ import annotations

import httpx
import pytest

from smshub.app import create_app
from smshub.config import Settings
from smshub.kit.deps import SESSION_COOKIE
from tests.factories import Tenants
from tests.web.conftest import PASSWORD, Browser, Browsers, form_value


def set_cookie_headers(r: httpx.Response, name: str) -> list[str]:
    return [h for h in r.headers.get_list("set-cookie") if h.startswith(f"{name}=")]


async def test_login_page_has_fields_and_a_double_submit_token(browsers: Browsers):
    b = browsers.new()
    r = await b.get("/login")
    assert r.status_code == 200
    for name in ("company", "extension", "password"):
        assert f'name="{name}"' in r.text
    assert "autofocus" in r.text
    token = form_value(r.text, "csrf_token")
    assert token and b.client.cookies.get("smshub_login_csrf") == token
    assert r.headers["content-security-policy"].startswith("default-src 'self'")


async def test_login_sets_a_strict_session_cookie_and_opens_home(browsers: Browsers, acme):
    b = browsers.new()
    await b.get("/login")
    r = await b.post("/login", {"company": "acme", "extension": "100", "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/"
    [cookie] = set_cookie_headers(r, SESSION_COOKIE)
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/" in lowered
    assert "secure" not in lowered.replace("samesite", "")
    home = await b.get("/")
    assert home.status_code == 200
    assert "Welcome, Admin" in home.text
    assert "Ext. 100" in home.text
    assert 'hx-headers=\'{"X-CSRF-Token": "' + (b.csrf or "") + "\"}'" in home.text


async def test_secure_cookie_when_configured(clean_db: str, tenants: Tenants):
    await tenants.make("Acme")
    secure_app = create_app(Settings(database_url=clean_db, cookie_secure=True))
    b = Browser(secure_app, base_url="https://test")  # Secure cookies need https
    try:
        await b.get("/login")
        r = await b.post("/login", {"company": "acme", "extension": "100", "password": PASSWORD})
        [cookie] = set_cookie_headers(r, SESSION_COOKIE)
        assert "; secure" in cookie.lower()
    finally:
        await b.aclose()
        await secure_app.state.engine.dispose()


@pytest.mark.parametrize(
    ("company", "extension", "password"),
    [("acme", "100", "wrong-password"), ("acme", "999", PASSWORD), ("nobody", "100", PASSWORD)],
)
async def test_wrong_credentials_show_an_inline_error(
    browsers: Browsers, acme, company, extension, password
):
    b = browsers.new()
    await b.get("/login")
    r = await b.post("/login", {"company": company, "extension": extension, "password": password})
    assert r.status_code == 401
    assert "Company, extension or password is wrong." in r.text
    assert form_value(r.text, "company") == company
    assert form_value(r.text, "extension") == extension
    assert password not in r.text
    assert not set_cookie_headers(r, SESSION_COOKIE)
    assert (await b.get("/")).status_code == 303


async def test_empty_login_form_is_refused_inline(browsers: Browsers):
    b = browsers.new()
    await b.get("/login")
    r = await b.post("/login", {"company": "", "extension": "", "password": ""})
    assert r.status_code == 422
    assert "Enter your company, extension and password." in r.text


async def test_login_without_the_double_submit_token_is_refused(browsers: Browsers, acme):
    b = browsers.new()
    r = await b.post(
        "/login", {"company": "acme", "extension": "100", "password": PASSWORD}, csrf=False
    )
    assert r.status_code == 403
    assert not set_cookie_headers(r, SESSION_COOKIE)
    await b.get("/login")
    r = await b.post(
        "/login",
        {"company": "acme", "extension": "100", "password": PASSWORD, "csrf_token": "forged"},
        csrf=False,
    )
    assert r.status_code == 403


@pytest.mark.parametrize("path", ["/", "/users", "/numbers?q=415", "/groups/new", "/contacts"])
async def test_pages_redirect_to_login_when_signed_out(browsers: Browsers, path: str):
    r = await browsers.new().get(path)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/login")
    if path != "/":
        assert httpx.URL(location).params["next"] == path


async def test_login_returns_to_next_path(browsers: Browsers, acme):
    b = browsers.new()
    r = await b.get("/numbers?q=415")
    login = await b.get(r.headers["location"])
    assert form_value(login.text, "next") == "/numbers?q=415"
    r = await b.post(
        "/login",
        {"company": "acme", "extension": "100", "password": PASSWORD, "next": "/numbers?q=415"},
    )
    assert r.headers["location"] == "/numbers?q=415"


@pytest.mark.parametrize(
    "evil", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
async def test_login_ignores_a_next_that_leaves_the_site(browsers: Browsers, acme, evil: str):
    b = browsers.new()
    page = await b.get("/login", params={"next": evil})
    assert form_value(page.text, "next") == ""
    r = await b.post(
        "/login", {"company": "acme", "extension": "100", "password": PASSWORD, "next": evil}
    )
    assert r.headers["location"] == "/"


async def test_signed_in_login_page_goes_home(admin: Browser):
    r = await admin.get("/login")
    assert r.status_code == 303 and r.headers["location"] == "/"


async def test_logout_needs_the_csrf_token_and_ends_the_session(admin: Browser):
    r = await admin.post("/logout", csrf=False)
    assert r.status_code == 403
    assert (await admin.get("/")).status_code == 200
    r = await admin.post("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert (await admin.get("/")).status_code == 303


async def test_a_stolen_cookie_stops_working_after_logout(browsers: Browsers, admin: Browser):
    token = admin.client.cookies.get(SESSION_COOKIE)
    await admin.post("/logout")
    thief = browsers.new()
    thief.client.cookies.set(SESSION_COOKIE, token or "")
    assert (await thief.get("/")).status_code == 303


async def test_an_unknown_session_cookie_redirects_and_is_cleared(browsers: Browsers):
    b = browsers.new()
    b.client.cookies.set(SESSION_COOKIE, "not-a-session")
    r = await b.get("/users")
    assert r.status_code == 303
    assert any(
        "Max-Age=0" in h or "max-age=0" in h.lower() for h in set_cookie_headers(r, SESSION_COOKIE)
    )
