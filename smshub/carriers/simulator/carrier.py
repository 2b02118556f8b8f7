"""The simulated mobile network: submits land in a durable outbox; receipts follow."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.carriers.base import OutboundSms, SubmitResult
from smshub.carriers.simulator.config import SimulatorConfig
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.ids import new_id
from smshub.kit.jobs import RetryPolicy, enqueue
from smshub.models import SimulatorOutbox

DLR_JOB = "simulator.receipt"
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

    async def submit(self, session: AsyncSession, sms: OutboundSms) -> SubmitResult:
        """Record the message as received by the network, in the send job's transaction,
        so the outbox row and the `sent` status commit together: exactly once."""
        row = SimulatorOutbox(
            id=new_id(),
            connector_id=self.connector_id,
            tenant_id=sms.tenant_id,
            message_id=sms.message_id,
            from_e164=sms.from_e164,
            to_e164=sms.to_e164,
            body=sms.body,
            segments=sms.segments,
            at=self.clock.now(),
        )
        session.add(row)
        failed = self.rng.random() < self.config.failure_rate
        await enqueue(
            session,
            DLR_JOB,
            {
                "connector_id": self.connector_id,
                "carrier_ref": row.id,
                "status": "failed" if failed else "delivered",
                "error": FAILURE_REASON if failed else None,
            },
            run_at=self.clock.now() + timedelta(seconds=self.config.delivery_delay_s),
            policy=RetryPolicy(max_attempts=10, retry_delay_s=1.0),
        )
        return SubmitResult(carrier_ref=row.id)
