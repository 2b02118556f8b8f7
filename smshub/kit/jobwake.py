"""Wake job runners in other processes the moment jobs are queued (PostgreSQL).

In one process an enqueuer wakes its own runner after commit (`kit.outbox`). When web
and worker processes are apart (`serve --only web` / `--only worker`), a worker would
otherwise find new jobs only at its next poll. Migration 0011 adds a statement-level
trigger on `jobs` that NOTIFYs `smshub_jobs` on every INSERT: no extra round trip for the
enqueuer, and PostgreSQL folds the notifications of one transaction into one. Every
process that runs a runner LISTENs here and wakes it for jobs that other processes
queued. The payload names the enqueuing process (`kit.db.application_name`): its own
jobs already woke it in memory, and a second, later wake would only split the next claim
into two smaller ones. Polling stays as the safety net:
a lost connection only delays jobs until the next poll, and after a reconnect the
runner is woken anyway, in case something was queued meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from smshub.kit.backoff import Backoff
from smshub.kit.db import application_name, psycopg_url
from smshub.kit.pglisten import LOST, Connection, close_quietly, consume, listen, relisten

log = logging.getLogger(__name__)

CHANNEL = "smshub_jobs"


class JobWakeListener:
    """LISTEN on `smshub_jobs` and call `wake` for each notification."""

    def __init__(
        self,
        url: str,
        wake: Callable[[], None],
        *,
        channel: str = CHANNEL,
        health_s: float = 30.0,
        ignore: str | None = None,
    ) -> None:
        self._url, self._wake, self._channel, self._health_s = url, wake, channel, health_s
        self._ignore = ignore  # the payload of this process's own enqueues
        self._task: asyncio.Task[None] | None = None
        self.connection: Connection | None = None  # tests cut it
        self.heard = 0

    async def start(self) -> None:
        """Listen before returning when the database answers; otherwise keep trying in
        the background (the runner polls meanwhile)."""
        try:
            await self._connect()
        except (psycopg.Error, OSError) as exc:
            log.warning("job wake-up listener not connected yet: %s", exc)
        self._task = asyncio.create_task(self._run(), name="jobs-listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close()

    async def _connect(self) -> Connection:
        self.connection = await listen(self._url, self._channel)
        return self.connection

    async def _close(self) -> None:
        conn, self.connection = self.connection, None
        await close_quietly(conn)

    async def _run(self) -> None:
        backoff = Backoff()
        while True:
            conn = self.connection
            if conn is None:
                conn = self.connection = await relisten(
                    self._url, self._channel, backoff, "job wake-up listener"
                )
                self._wake()  # jobs may have been queued while nobody listened
            try:
                await consume(conn, self._hear, self._health_s)
            except LOST as exc:
                log.warning("job wake-up listener lost its connection: %s", exc)
            await self._close()

    def _hear(self, payload: str) -> None:
        if payload != self._ignore:
            self.heard += 1
            self._wake()


def create_job_wake(database_url: str, wake: Callable[[], None]) -> JobWakeListener | None:
    """A listener on PostgreSQL; None on SQLite, whose one process wakes in memory."""
    if not make_url(database_url).drivername.startswith("postgres"):
        return None
    return JobWakeListener(psycopg_url(database_url), wake, ignore=application_name())
