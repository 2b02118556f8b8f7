"""Where URL callbacks, webhooks and tenants' HTTP carriers may go (SSRF guard).

Tenants choose these URLs, and answers and errors are shown back to them, so a request
must not reach what only the hub's host can reach. Link-local addresses (the cloud
metadata service at 169.254.169.254, fe80::/10) are always refused. Loopback, private
and other reserved ranges are refused when `SMSHUB_FORWARD_BLOCK_PRIVATE` is on: a
hosting provider turns it on; an on-premises install usually calls its own CRM on a
private address and leaves it off. The check runs on every address the name resolves
to, right before a request; the verdict for a host is kept for CHECK_TTL_S, so a carrier
taking hundreds of submits a second does not resolve its name for each one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Callable

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
CHECK_TTL_S = 30.0
MAX_HOSTS = 1024


def refusal(address: Address, block_private: bool) -> str | None:
    """Why a request may not go to this address, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_link_local:
        return "a link-local address (such as a cloud metadata service)"
    if address.is_multicast or address.is_unspecified:
        return "not a unicast address"
    if block_private and (address.is_loopback or address.is_private or address.is_reserved):
        return "a private or loopback address"
    return None


def literal_refusal(url: str) -> str | None:
    """Why a URL whose host is an IP address may never be called (a link-local, multicast
    or unspecified address), for a clear error when it is configured; names are checked
    when a request goes."""
    try:
        host = httpx.URL(url).host
        address = ipaddress.ip_address(host)
    except (ValueError, httpx.InvalidURL):
        return None
    why = refusal(address, block_private=False)
    return f"{host} is {why}, which is never called" if why else None


class DestinationRefused(httpx.ConnectError):
    """Raised before connecting: callers record it like any failed request."""


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(
        self, block_private: bool, clock: Callable[[], float] = time.monotonic, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.block_private = block_private
        self._clock = clock
        # host -> (checked until, why refused or None)
        self._verdicts: dict[str, tuple[float, str | None]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        verdict = self._verdicts.get(host)
        now = self._clock()
        if verdict is None or verdict[0] <= now:
            verdict = (now + CHECK_TTL_S, await self._check(host, request))
            if len(self._verdicts) >= MAX_HOSTS:
                self._verdicts.clear()
            self._verdicts[host] = verdict
        if verdict[1]:
            raise DestinationRefused(verdict[1], request=request)
        return await super().handle_async_request(request)

    async def _check(self, host: str, request: httpx.Request) -> str | None:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError as exc:  # not cached: the next request resolves again
            raise httpx.ConnectError(f"cannot resolve {host}: {exc}", request=request) from exc
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            why = refusal(address, self.block_private)
            if why:
                return f"{host} resolves to {address}: {why}"
        return None
