"""HTTP carrier flavors and the process's shared HTTP client."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel

from smshub.carriers.base import CarrierConfigError
from smshub.carriers.http.base import HttpCarrier
from smshub.carriers.http.template import TemplateCarrier, TemplateConfig
from smshub.carriers.http.twilio import TwilioCarrier, TwilioConfig
from smshub.kit.errors import InvalidInput

FLAVORS: dict[str, tuple[type[BaseModel], type[HttpCarrier]]] = {
    "twilio": (TwilioConfig, TwilioCarrier),
    "get": (TemplateConfig, TemplateCarrier),
}

_client: httpx.AsyncClient | None = None


def client() -> httpx.AsyncClient:
    """One pooled client per process (keep-alive to the carrier)."""
    global _client
    if _client is None or _client.is_closed:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        _client = httpx.AsyncClient(limits=limits, follow_redirects=False)
    return _client


def use_client(new: httpx.AsyncClient | None) -> None:
    """Tests and embedders may inject their own client."""
    global _client
    _client = new


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    """Validated config (pydantic ValidationError if bad). `flavor` picks the provider."""
    flavor = str(config.get("flavor", "twilio"))
    if flavor not in FLAVORS:
        raise InvalidInput(
            f"config.flavor must be one of {', '.join(sorted(FLAVORS))}.", field="config.flavor"
        )
    model, _ = FLAVORS[flavor]
    return model.model_validate({**config, "flavor": flavor}).model_dump(mode="json")


def carrier(connector_id: str, config: dict[str, Any]) -> HttpCarrier:
    flavor = str(config.get("flavor", "twilio"))
    if flavor not in FLAVORS:
        raise CarrierConfigError(f"unknown HTTP carrier flavor '{flavor}'")
    return FLAVORS[flavor][1](connector_id, config, client())
