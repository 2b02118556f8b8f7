"""A live `smshub serve --demo` on loopback for the browser tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import Server, serve

READY_TIMEOUT_S = 20


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
