"""The simulator's delayed delivery receipts (`simulator.receipt`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.carriers.simulator.carrier import DLR_JOB
from smshub.kit.jobs import JobContext, JobRegistry
from smshub.messaging import service as messaging


async def deliver_receipt(session: AsyncSession, job: JobContext) -> None:
    p = job.payload
    await messaging.apply_delivery_report(
        session,
        connector_id=p["connector_id"],
        carrier_ref=p["carrier_ref"],
        status=p["status"],
        error=p.get("error"),
    )


def register(registry: JobRegistry) -> None:
    registry.register(DLR_JOB, deliver_receipt)
