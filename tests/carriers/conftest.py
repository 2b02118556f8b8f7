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
