"""A live `smshub serve --demo` on loopback for the browser tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.live import Server, serve

READY_TIMEOUT_S = 20
CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def wait_for_login_page(url: str, timeout: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + "/login", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"/login did not answer within {timeout}s")
        time.sleep(0.1)


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[Server]:
    """The demo company (demo-co, admin 100 / demo1234) on a fresh SQLite file."""
    db_url = f"sqlite:///{tmp_path}/e2e.db"
    with serve(db_url, tmp_path, ["--demo"]) as server:
        wait_for_login_page(server.url)
        yield server


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, for one test."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
