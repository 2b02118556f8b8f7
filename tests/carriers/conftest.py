from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from smshub.carriers.smpp.registry import links
from tests.carriers.smsc import Smsc


@pytest.fixture(autouse=True)
async def _close_links() -> AsyncIterator[None]:
    yield
    await links.close_all()


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    server = Smsc()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(autouse=True)
async def _fresh_http_client() -> AsyncIterator[None]:
    from smshub.carriers.http import registry

    registry.use_client(None)
    yield
    registry.use_client(None)
    registry.configure(block_private=False)
    await registry.close_clients()
