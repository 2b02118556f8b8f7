"""The simulated mobile network: submits land in a durable outbox; receipts follow."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta
from typing import cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.carriers.base import CarrierError, OutboundSms, SubmitResult
from smshub.carriers.simulator.config import SimulatorConfig
from smshub.kit.bulk import insert_rows
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.ids import new_id
from smshub.kit.jobs import RetryPolicy, enqueue
from smshub.models import SimulatorOutbox

DLR_JOB = "simulator.receipt"
_OUTBOX = cast(Table, SimulatorOutbox.__table__)
FAILURE_REASON = "simulated failure: absent subscriber"


class SimulatorCarrier:
    def __init__(
        self,
        connector_id: str,
        config: SimulatorConfig,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ):
        self.connector_id = connector_id
        self.config = config
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()

    async def submit_many(
        self, session: AsyncSession, batch: Sequence[OutboundSms]
    ) -> list[SubmitResult | CarrierError]:
        """Record the messages as received by the network, in the send job's transaction,
        so each outbox row and its `sent` status commit together: exactly once. One
        receipt job follows for the whole batch."""
        if not batch:
            return []
        now = self.clock.now()
        refs = [new_id() for _ in batch]
        rows = [
            {
                "id": ref,
                "connector_id": self.connector_id,
                "tenant_id": sms.tenant_id,
                "message_id": sms.message_id,
                "from_e164": sms.from_e164,
                "sender_id": sms.sender_id,
                "to_e164": sms.to_e164,
                "body": sms.body,
                "segments": sms.segments,
                "at": now,
            }
            for ref, sms in zip(refs, batch, strict=True)
        ]
        await insert_rows(session, _OUTBOX, rows)
        receipts = [self._receipt(ref) for ref in refs]
        await enqueue(
            session,
            DLR_JOB,
            {"connector_id": self.connector_id, "receipts": receipts},
            run_at=now + timedelta(seconds=self.config.delivery_delay_s),
            policy=RetryPolicy(max_attempts=10, retry_delay_s=1.0),
        )
        return [SubmitResult(carrier_ref=ref) for ref in refs]

    def _receipt(self, ref: str) -> dict[str, str | None]:
        failed = self.rng.random() < self.config.failure_rate
        return {
            "carrier_ref": ref,
            "status": "failed" if failed else "delivered",
            "error": FAILURE_REASON if failed else None,
        }
