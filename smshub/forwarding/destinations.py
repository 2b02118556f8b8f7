"""Where URL callbacks and webhooks may go (SSRF guard).

Tenants choose these URLs, and callback answers are shown back to them, so a request
must not reach what only the hub's host can reach. Link-local addresses (the cloud
metadata service at 169.254.169.254, fe80::/10) are always refused. Loopback, private
and other reserved ranges are refused when `SMSHUB_FORWARD_BLOCK_PRIVATE` is on: a
hosting provider turns it on; an on-premises install usually calls its own CRM on a
private address and leaves it off. The check runs on every address the name resolves
to, right before connecting.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


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


class DestinationRefused(httpx.ConnectError):
    """Raised before connecting: callers record it like any failed request."""


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, block_private: bool, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.block_private = block_private

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc}", request=request) from exc
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            why = refusal(address, self.block_private)
            if why:
                raise DestinationRefused(f"{host} resolves to {address}: {why}", request=request)
        return await super().handle_async_request(request)
