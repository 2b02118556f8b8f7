"""The simulator's delayed delivery receipts (`simulator.receipt`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.carriers.simulator.carrier import DLR_JOB
from smshub.kit.jobs import JobContext, JobRegistry
from smshub.messaging import service as messaging


async def deliver_receipts(session: AsyncSession, jobs: list[JobContext]) -> None:
    """Apply the receipts of many send batches in one transaction."""
    by_connector: dict[str, list[messaging.Receipt]] = {}
    for job in jobs:
        receipts = by_connector.setdefault(job.payload["connector_id"], [])
        for r in job.payload.get("receipts", []):
            receipts.append(messaging.Receipt(r["carrier_ref"], r["status"], r.get("error")))
    for connector_id, receipts in by_connector.items():
        await messaging.apply_delivery_reports(session, connector_id, receipts)


def register(registry: JobRegistry) -> None:
    registry.register_batch(DLR_JOB, deliver_receipts, max_batch=50)
