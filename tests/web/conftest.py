"""Browser-like clients for the pages: cookies, the login form and CSRF tokens."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from argon2 import PasswordHasher, profiles
from fastapi import FastAPI

from smshub.auth import security
from smshub.auth.service import slugify
from tests.factories import TenantCtx, Tenants

PASSWORD = "secret-pass-1"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """An httpx client that keeps cookies and fills in the CSRF token like a page would."""

    def __init__(self, app: FastAPI, base_url: str = "http://test"):
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url=base_url,
        )
        self.csrf: str | None = None

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        r = await self.client.get(url, **kw)
        self._remember(r)
        return r

    async def post(
        self, url: str, data: Any = None, *, csrf: bool = True, **kw: Any
    ) -> httpx.Response:
        """POST a form: a dict, or a list of pairs for repeated fields (checkboxes)."""
        pairs = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf and self.csrf:
            pairs.insert(0, ("csrf_token", self.csrf))
        headers = {"Content-Type": "application/x-www-form-urlencoded", **kw.pop("headers", {})}
        r = await self.client.post(url, content=urlencode(pairs), headers=headers, **kw)
        self._remember(r)
        return r

    def _remember(self, r: httpx.Response) -> None:
        if r.headers.get("content-type", "").startswith("text/html"):
            found = _CSRF.search(r.text)
            if found:
                self.csrf = found.group(1)

    async def login(
        self, company: str, extension: str = "100", password: str = PASSWORD
    ) -> httpx.Response:
        await self.get("/login")
        r = await self.post(
            "/login", {"company": company, "extension": extension, "password": password}
        )
        assert r.status_code == 303, r.text
        await self.get(r.headers["location"])
        assert self.csrf
        return r

    async def aclose(self) -> None:
        await self.client.aclose()


class Browsers:
    def __init__(self, app: FastAPI):
        self.app = app
        self.open: list[Browser] = []

    def new(self) -> Browser:
        b = Browser(self.app)
        self.open.append(b)
        return b

    async def admin_of(self, tenant: TenantCtx, name: str) -> Browser:
        b = self.new()
        await b.login(slugify(name))
        return b

    async def close(self) -> None:
        for b in self.open:
            await b.aclose()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with production costs takes ~0.4 s per hash or login on a small machine;
    these tests sign in a lot, and check the pages, not the hash strength."""
    monkeypatch.setattr(security, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
async def browsers(app: FastAPI) -> AsyncIterator[Browsers]:
    made = Browsers(app)
    yield made
    await made.close()


@pytest.fixture
async def acme(tenants: Tenants) -> TenantCtx:
    return await tenants.make("Acme")


@pytest.fixture
async def admin(browsers: Browsers, acme: TenantCtx) -> Browser:
    """The signed-in admin (extension 100) of the tenant Acme (company ID `acme`)."""
    return await browsers.admin_of(acme, "Acme")


def form_value(html: str, name: str) -> str | None:
    """The value of the input called `name` in a page."""
    found = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*\bvalue="([^"]*)"', html)
    return htmllib.unescape(found.group(1)) if found else None


def field_error(html: str, field: str) -> str | None:
    """The inline error shown under a field, if any."""
    found = re.search(rf'id="f-{re.escape(field)}-error">([^<]*)<', html)
    return htmllib.unescape(found.group(1)) if found else None


def row_ids(html: str, entity: str) -> set[str]:
    """Ids of the objects linked from a list page's rows."""
    return set(re.findall(rf'href="/{entity}/([0-9A-Z]{{26}})/edit"', html))
