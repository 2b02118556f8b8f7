"""The job worker: `python -m smshub.worker`, or inside `smshub serve`.

Settings come from `SMSHUB_*` variables (SMSHUB_DATABASE_URL, SMSHUB_WORKER_CONCURRENCY,
SMSHUB_WORKER_POLL_S, SMSHUB_WORKER_LINGER_S, SMSHUB_JOB_LEASE_S, SMSHUB_SHUTDOWN_GRACE_S,
SMSHUB_ENABLE_TEST_JOBS). SIGTERM or SIGINT stops claiming, lets running jobs finish for
up to the grace period, and releases the rest, so nothing is lost on a deploy.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from smshub.campaigns import tasks as campaign_tasks
from smshub.carriers.http import registry as http_carriers
from smshub.carriers.simulator import tasks as simulator_tasks
from smshub.carriers.smpp.registry import links as smpp_links
from smshub.config import Settings, get_settings
from smshub.forwarding import tasks as forwarding_tasks
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.db import create_engine, session_factory
from smshub.kit.jobs import JobRegistry, JobRunner
from smshub.kit.jobwake import JobWakeListener, create_job_wake
from smshub.kit.outbox import session_info
from smshub.kit.testjobs import register_test_jobs
from smshub.messaging import tasks as messaging_tasks
from smshub.realtime.hub import create_hub

log = logging.getLogger("smshub.worker")


def build_registry(settings: Settings) -> JobRegistry:
    """Every job kind this deployment runs. Domains add their tasks here as they land."""
    registry = JobRegistry()
    messaging_tasks.register(registry)
    simulator_tasks.register(registry)
    campaign_tasks.register(registry)
    forwarding_tasks.register(registry, settings)
    if settings.enable_test_jobs:
        register_test_jobs(registry)
    return registry


def create_worker(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    registry: JobRegistry | None = None,
    *,
    clock: Clock | None = None,
    worker_id: str | None = None,
) -> JobRunner:
    """A runner configured from settings; the caller runs `run()` and later `stop()`."""
    smpp_links.install(session_factory, clock)
    http_carriers.configure(block_private=settings.forward_block_private)
    return JobRunner(
        session_factory,
        registry if registry is not None else build_registry(settings),
        worker_id=worker_id,
        concurrency=settings.worker_concurrency,
        poll_s=settings.worker_poll_s,
        linger_s=settings.worker_linger_s,
        lease_s=settings.job_lease_s,
        clock=clock or SystemClock(),
        keep_done_s=settings.jobs_keep_done_h * 3600 or None,
    )


async def run_until_signalled(runner: JobRunner, grace_s: float) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully."""
    loop = asyncio.get_running_loop()
    signalled = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, signalled.set)
    running = asyncio.create_task(runner.run())
    waiting = asyncio.create_task(signalled.wait())
    try:
        await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
        log.info("worker %s stopping (grace %.1fs)", runner.worker_id, grace_s)
        await runner.stop(grace_s)
        await running
    finally:
        waiting.cancel()
        for sig in signals:
            loop.remove_signal_handler(sig)


async def run_worker(settings: Settings, registry: JobRegistry | None = None) -> None:
    """A standalone worker: its own engine and registry, until SIGTERM or SIGINT."""
    registry = registry if registry is not None else build_registry(settings)
    engine = create_engine(settings.database_url)
    # Send-only: the events this worker's jobs cause reach web processes' streams.
    hub = create_hub(settings.database_url, listen=False)
    await hub.start()
    runners: list[JobRunner] = []
    wake: JobWakeListener | None = None
    sessions = session_factory(engine, info=session_info(hub, lambda: runners[0].wake()))
    try:
        runner = create_worker(settings, sessions, registry)
        runners.append(runner)
        wake = create_job_wake(settings.database_url, runner.wake)
        if wake is not None:
            await wake.start()
        await smpp_links.start_all()
        kinds = ", ".join(registry.kinds()) or "(none)"
        log.info("worker %s started; job kinds: %s", runner.worker_id, kinds)
        await run_until_signalled(runner, settings.shutdown_grace_s)
        log.info("worker %s stopped", runner.worker_id)
    finally:
        if wake is not None:
            await wake.stop()
        await smpp_links.close_all()
        await hub.stop()
        await engine.dispose()


def configure_logging() -> None:
    """Plain timestamped lines on stderr (uvicorn configures its own for the web role)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def main() -> None:
    configure_logging()
    asyncio.run(run_worker(get_settings()))


if __name__ == "__main__":
    main()
