"""The carrier interface and its error tree.

CarrierError
  ├── TransientCarrierError   try again later (link down, busy)
  │     └── ThrottledCarrierError  the carrier asked us to slow down: retried, never failed
  ├── PermanentCarrierError   this message will never go (bad destination, refused)
  └── CarrierConfigError      the connector is misconfigured; an operator must act
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class CarrierError(Exception):
    pass


class TransientCarrierError(CarrierError):
    def __init__(self, message: str, retry_after_s: float | None = None):
        super().__init__(message)
        # The carrier said when to try again (HTTP Retry-After): that wait, not backoff.
        self.retry_after_s = retry_after_s


class ThrottledCarrierError(TransientCarrierError):
    """Throttled or queue full (SMPP ESME_RTHROTTLED / ESME_RMSGQFUL, HTTP 429): not a
    fault of the message, so it does not use up the message's tries."""


class PermanentCarrierError(CarrierError):
    pass


class CarrierConfigError(CarrierError):
    pass


@dataclass(frozen=True)
class OutboundSms:
    message_id: str
    tenant_id: str
    from_e164: str
    to_e164: str
    body: str
    segments: int
    # Send under this alphanumeric sender ID instead of the number (B2).
    sender_id: str | None = None


@dataclass(frozen=True)
class SubmitResult:
    carrier_ref: str


class Carrier(Protocol):
    """A connector that sends. `session` is the send job's transaction: carriers that
    record their side in our database (the simulator) write there, so the submit and the
    `sent` status commit together; network carriers ignore it."""

    connector_id: str

    async def submit_many(
        self, session: AsyncSession, batch: Sequence[OutboundSms]
    ) -> list[SubmitResult | CarrierError]:
        """Submit each message; a failed one gets its error in its place, so one refusal
        does not hide the others' results."""
        ...
