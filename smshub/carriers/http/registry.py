"""HTTP carrier flavors and the process's shared HTTP client."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel

from smshub.carriers.base import CarrierConfigError
from smshub.carriers.http.base import HttpCarrier
from smshub.carriers.http.template import TemplateCarrier, TemplateConfig
from smshub.carriers.http.twilio import TwilioCarrier, TwilioConfig
from smshub.kit.destinations import GuardedTransport, literal_refusal
from smshub.kit.errors import InvalidInput

FLAVORS: dict[str, tuple[type[BaseModel], type[HttpCarrier]]] = {
    "twilio": (TwilioConfig, TwilioCarrier),
    "get": (TemplateConfig, TemplateCarrier),
}

_clients: dict[bool, httpx.AsyncClient] = {}
_injected: httpx.AsyncClient | None = None
_block_private = False


def configure(*, block_private: bool) -> None:
    """From settings, when a process starts its workers (SMSHUB_FORWARD_BLOCK_PRIVATE)."""
    global _block_private
    if block_private != _block_private:
        _block_private = block_private
        _clients.pop(True, None)  # the next tenant submit builds a client with the new rule


def client(tenant_owned: bool = True) -> httpx.AsyncClient:
    """One pooled client per process and trust level (keep-alive to the carrier).

    A tenant's own connector is a URL a tenant admin typed: it goes through the same
    SSRF guard as forwarding (with `configure(block_private=True)`, private and loopback
    addresses are refused too). A system-wide connector is the operator's: only
    link-local addresses (a cloud metadata service) are refused."""
    if _injected is not None:
        return _injected
    found = _clients.get(tenant_owned)
    if found is None or found.is_closed:
        block_private = tenant_owned and _block_private
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        transport = GuardedTransport(block_private, limits=limits)
        found = _clients[tenant_owned] = httpx.AsyncClient(
            transport=transport, follow_redirects=False
        )
    return found


def use_client(new: httpx.AsyncClient | None) -> None:
    """Tests and embedders may inject their own client; None goes back to the guarded ones."""
    global _injected
    _injected = new


async def close_clients() -> None:
    """Close the pooled clients (the injected one is its owner's to close)."""
    clients = list(_clients.values())
    _clients.clear()
    for c in clients:
        await c.aclose()


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    """Validated config (pydantic ValidationError if bad). `flavor` picks the provider."""
    flavor = str(config.get("flavor", "twilio"))
    if flavor not in FLAVORS:
        raise InvalidInput(
            f"config.flavor must be one of {', '.join(sorted(FLAVORS))}.", field="config.flavor"
        )
    model, _ = FLAVORS[flavor]
    checked = model.model_validate({**config, "flavor": flavor}).model_dump(mode="json")
    for field in ("base_url", "url_template"):
        if isinstance(checked.get(field), str) and (why := literal_refusal(checked[field])):
            raise InvalidInput(f"config.{field} must not point at {why}.", field=f"config.{field}")
    return checked


def carrier(connector_id: str, config: dict[str, Any], tenant_owned: bool = True) -> HttpCarrier:
    flavor = str(config.get("flavor", "twilio"))
    if flavor not in FLAVORS:
        raise CarrierConfigError(f"unknown HTTP carrier flavor '{flavor}'")
    return FLAVORS[flavor][1](connector_id, config, client(tenant_owned))
