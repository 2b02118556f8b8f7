"""The generic HTTP carrier: what every REST/webhook provider shares.

A provider is a subclass that says how to build the submit request, how to read its
answer, and how to read its two webhooks (an inbound message, a status callback), plus
how its webhooks are signed. Status codes map the same for all: 2xx accepted, 429
throttled (retried, never failed), other 4xx refused, 5xx and network errors transient.
Every exchange is logged with the secrets left out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.carriers.base import (
    CarrierError,
    OutboundSms,
    PermanentCarrierError,
    SubmitResult,
    ThrottledCarrierError,
    TransientCarrierError,
)

log = logging.getLogger("smshub.http_carrier")


@dataclass(frozen=True)
class InboundSms:
    from_e164: str
    to_e164: str
    body: str
    carrier_ref: str | None


@dataclass(frozen=True)
class StatusReport:
    carrier_ref: str
    outcome: str  # delivered | failed | pending
    error: str | None = None


class WebhookInputError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class HttpCarrier:
    """Subclasses set `flavor` and implement the four `*_request`/`parse_*` hooks."""

    flavor: ClassVar[str] = ""
    concurrency: ClassVar[int] = 16

    def __init__(self, connector_id: str, config: Mapping[str, Any], client: httpx.AsyncClient):
        self.connector_id = connector_id
        self.config = config
        self.client = client

    # -- provider hooks -----------------------------------------------------------------
    def submit_request(self, sms: OutboundSms) -> httpx.Request:
        raise NotImplementedError

    def parse_submit(self, response: httpx.Response) -> str:
        """The carrier's id of an accepted message."""
        raise NotImplementedError

    def check_signature(
        self, url: str, params: Sequence[tuple[str, str]], headers: Mapping[str, str]
    ) -> bool:
        raise NotImplementedError

    def parse_inbound(self, params: Mapping[str, str]) -> InboundSms:
        raise NotImplementedError

    def parse_status(self, params: Mapping[str, str]) -> StatusReport:
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------
    async def submit_many(
        self, session: AsyncSession, batch: Sequence[OutboundSms]
    ) -> list[SubmitResult | CarrierError]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(sms: OutboundSms) -> SubmitResult | CarrierError:
            async with gate:
                return await self.submit(sms)

        return list(await asyncio.gather(*(one(s) for s in batch)))

    async def submit(self, sms: OutboundSms) -> SubmitResult | CarrierError:
        request = self.submit_request(sms)
        try:
            response = await self.client.send(request)
        except httpx.HTTPError as exc:
            log.warning("%s %s: %s", self.flavor, request.url.path, type(exc).__name__)
            return TransientCarrierError(f"{self.flavor}: {type(exc).__name__}: {exc}")
        log.info("%s %s -> %s", self.flavor, request.url.path, response.status_code)
        code = response.status_code
        wait = retry_after_s(response.headers.get("retry-after"), datetime.now(UTC))
        if code == 429:
            return ThrottledCarrierError(f"{self.flavor}: HTTP 429 {_snippet(response)}", wait)
        if code >= 500:
            return TransientCarrierError(f"{self.flavor}: HTTP {code} {_snippet(response)}", wait)
        if code >= 400:
            return PermanentCarrierError(f"{self.flavor}: HTTP {code} {_snippet(response)}")
        try:
            return SubmitResult(carrier_ref=self.parse_submit(response))
        except (ValueError, KeyError, TypeError) as exc:
            return TransientCarrierError(f"{self.flavor}: unreadable answer: {exc}")


MAX_RETRY_AFTER_S = 3600.0


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (RFC 9110 §10.2.3: delay-seconds or an
    HTTP-date), capped at an hour; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER_S)


def _snippet(response: httpx.Response) -> str:
    return response.text[:200]
