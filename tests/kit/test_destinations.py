"""The SSRF guard's verdict cache: a busy carrier is not resolved once per submit."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from smshub.kit import destinations
from smshub.kit.destinations import DestinationRefused, GuardedTransport


async def test_a_hosts_verdict_is_kept_for_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    lookups: list[str] = []

    async def counting(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return await real(host, *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", counting)
    now = [1000.0]
    guard = GuardedTransport(block_private=True, clock=lambda: now[0])
    async with httpx.AsyncClient(transport=guard) as client:
        for _ in range(3):
            with pytest.raises(DestinationRefused, match="a private or loopback address"):
                await client.get("http://127.0.0.1:1/x")
        assert lookups == ["127.0.0.1"]
        now[0] += destinations.CHECK_TTL_S + 1
        with pytest.raises(DestinationRefused):
            await client.get("http://127.0.0.1:1/x")
        assert lookups == ["127.0.0.1", "127.0.0.1"]
        with pytest.raises(DestinationRefused, match="link-local"):
            await client.get("http://169.254.169.254/latest/meta-data/")


async def test_an_allowed_host_connects() -> None:
    async with httpx.AsyncClient(transport=GuardedTransport(block_private=False)) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get("http://127.0.0.1:1/x")  # allowed, and nothing listens
        assert not isinstance(caught.value, DestinationRefused)


def test_literal_refusal_names_addresses_that_are_never_called() -> None:
    from smshub.kit.destinations import literal_refusal

    assert "link-local" in (literal_refusal("http://169.254.169.254/latest") or "")
    assert "link-local" in (literal_refusal("https://[fe80::1]:8443/x?to={TO}") or "")
    assert "not a unicast" in (literal_refusal("http://0.0.0.0/") or "")
    # Names are checked when a request goes; private addresses depend on the setting.
    for fine in ("https://api.twilio.com", "http://10.0.0.5/cb", "http://127.0.0.1:9/", "nope"):
        assert literal_refusal(fine) is None, fine
