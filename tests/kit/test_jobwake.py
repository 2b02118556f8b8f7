"""Cross-process job wake-up: the jobs trigger NOTIFYs on commit, the listener wakes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from smshub.kit.db import psycopg_url, unit_of_work
from smshub.kit.jobs import enqueue, enqueue_many
from smshub.kit.jobwake import JobWakeListener, create_job_wake

Sessions = async_sessionmaker[AsyncSession]


class Wakes:
    def __init__(self) -> None:
        self.count = 0
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()

    async def next(self, within: float = 5.0) -> None:
        await asyncio.wait_for(self.event.wait(), within)
        self.event.clear()


@pytest.fixture
def pg_only(clean_db: str) -> str:
    if not clean_db.startswith("postgres"):
        pytest.skip("the wake-up listener is PostgreSQL's")
    return clean_db


def test_sqlite_gets_no_listener() -> None:
    assert create_job_wake("sqlite:///x.db", lambda: None) is None
    listener = create_job_wake("postgresql+psycopg://u@h/db", lambda: None)
    assert isinstance(listener, JobWakeListener)


def listen(url: str, wakes: Wakes) -> JobWakeListener:
    """A listener that hears this process's enqueues too: here the test stands for
    another process."""
    return JobWakeListener(psycopg_url(url), wakes, ignore=None)


@asynccontextmanager
async def running(listener: JobWakeListener | None) -> AsyncIterator[JobWakeListener]:
    assert listener is not None
    await listener.start()
    try:
        yield listener
    finally:
        await listener.stop()


async def test_committed_jobs_wake_and_rolled_back_ones_do_not(
    pg_only: str, sessions: Sessions
) -> None:
    wakes = Wakes()
    async with running(listen(pg_only, wakes)):
        with pytest.raises(RuntimeError):
            async with unit_of_work(sessions) as session:
                await enqueue(session, "test.noop", {})
                raise RuntimeError("rolled back")
        await asyncio.sleep(0.3)
        assert wakes.count == 0
        async with unit_of_work(sessions) as session:
            await enqueue(session, "test.noop", {})
            await enqueue_many(session, "test.noop", [({}, None), ({}, "k1")])
        await wakes.next()
        await asyncio.sleep(0.3)
        assert wakes.count == 1  # one transaction, one notification


async def test_a_cut_connection_is_listened_again_and_wakes(
    pg_only: str, sessions: Sessions
) -> None:
    wakes = Wakes()
    async with running(listen(pg_only, wakes)) as listener:
        assert listener.connection is not None
        pid = listener.connection.info.backend_pid
        async with await psycopg.AsyncConnection.connect(
            psycopg_url(pg_only), autocommit=True
        ) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await wakes.next()  # woken after the reconnect: jobs may have come meanwhile
        deadline = time.monotonic() + 5
        while listener.connection is None or listener.connection.info.backend_pid == pid:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        async with unit_of_work(sessions) as session:
            await enqueue(session, "test.noop", {})
        await wakes.next()
    assert listener.connection is None


async def test_an_unreachable_database_does_not_stop_the_start() -> None:
    listener = JobWakeListener("postgresql://nobody@127.0.0.1:1/none", lambda: None)
    await listener.start()  # logs and keeps trying in the background
    assert listener.connection is None
    await listener.stop()


async def test_a_process_ignores_its_own_enqueues(pg_only: str, sessions: Sessions) -> None:
    """Its own enqueues woke its runner in memory already; only others' wake it here."""
    wakes = Wakes()
    async with running(create_job_wake(pg_only, wakes)):
        async with unit_of_work(sessions) as session:  # this process's pool
            await enqueue(session, "test.noop", {})
        async with await psycopg.AsyncConnection.connect(
            psycopg_url(pg_only), autocommit=True, application_name="smshub:other"
        ) as other:
            await asyncio.sleep(0.3)
            assert wakes.count == 0
            await other.execute(
                "INSERT INTO jobs (id, kind, payload, status, run_at, attempts, max_attempts,"
                " backoff, retry_delay_s, max_delay_s, created_at) VALUES ('01OTHER', 'k',"
                " '{}', 'pending', now(), 0, 1, 'fixed', 1, 1, now())"
            )
        await wakes.next()
        assert wakes.count == 1
