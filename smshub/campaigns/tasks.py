"""The campaign dispatcher (`campaign.dispatch`): one job per tick, each queueing the next.

A tick's job becomes claimable `LEAD_S` before its planned time and sleeps until then
before it opens its transaction, so the pace does not depend on the runner's poll
interval. A job of an older run (the campaign was stopped and started again meanwhile)
finds the run number changed and ends its chain.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.campaigns import planning, service
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.jobs import JobContext, JobRegistry


def make_dispatch(clock: Clock):  # type: ignore[no-untyped-def]
    async def dispatch(session: AsyncSession, job: JobContext) -> None:
        planned = datetime.fromisoformat(str(job.payload["at"]))
        wait = (planned - clock.now()).total_seconds()
        if wait > 0:
            await asyncio.sleep(min(wait, planning.LEAD_S * 2))
        await service.dispatch_tick(
            session,
            str(job.payload["campaign_id"]),
            int(job.payload["run"]),
            planned,
            int(job.payload.get("tick", 0)),
            clock.now(),
        )

    return dispatch


def register(registry: JobRegistry, clock: Clock | None = None) -> None:
    registry.register(service.DISPATCH_JOB, make_dispatch(clock or SystemClock()))
