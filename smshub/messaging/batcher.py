"""Group commit for outbound sends and inbound messages.

Each request is validated on its own (mostly from cache), then waits here while the
batch before it is written (and, under load, for a few more milliseconds); all the items
that arrived meanwhile are then written in ONE transaction with bulk statements. Every
item is committed before its request is answered, so "stored before acknowledged" holds,
and under load the cost of a commit and of each statement is shared by the whole batch.
An idle server writes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from smshub.kit.db import unit_of_work
from smshub.messaging.receiving import Inbound, receive_many
from smshub.messaging.service import Outbound, Received, Sent, queue_outbound

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
Write = Callable[[AsyncSession, Sequence[T]], Awaitable[list[R]]]


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        write: Write[T, R],
        name: str,
        max_batch: int = 500,
        linger_s: float = 0.005,
    ):
        self._sessions = sessions
        self._write_items = write
        self._name = name
        self._max_batch = max_batch
        self._linger_s = linger_s
        self._busy = False  # the last batch had company: more are likely on their way
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[R]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Return once the item is committed."""
        self._ensure_running()
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"{self._name}-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self._busy and self._linger_s and self._queue.qsize() < self._max_batch:
                # Under load, wait a moment so the requests arriving meanwhile share this
                # commit: fewer, fuller transactions cost less CPU per message, and that
                # shortens the queue more than the wait lengthens it. Idle: write at once.
                await asyncio.sleep(self._linger_s)
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._busy = len(batch) > 1
            try:
                await self._write(batch)
            except Exception:  # each item's future already carries its own outcome
                log.exception("%s batch failed", self._name)

    async def _write(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        live = [(i, f) for i, f in batch if not f.cancelled()]
        if not live:
            return
        try:
            async with unit_of_work(self._sessions) as session:
                results = await self._write_items(session, [i for i, _ in live])
        except Exception as exc:
            if len(live) == 1:
                if not live[0][1].done():
                    live[0][1].set_exception(exc)
                return
            # One bad item must not fail its neighbours: write them one by one.
            for one in live:
                await self._write([one])
            return
        for (_, future), result in zip(live, results, strict=True):
            if not future.done():
                future.set_result(result)


def send_batcher(sessions: async_sessionmaker[AsyncSession]) -> GroupCommit[Outbound, Sent]:
    return GroupCommit(sessions, queue_outbound, "send")


def inbound_batcher(
    sessions: async_sessionmaker[AsyncSession],
) -> GroupCommit[Inbound, Received]:
    return GroupCommit(sessions, receive_many, "inbound")
