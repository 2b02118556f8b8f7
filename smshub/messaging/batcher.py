"""Group commit for outbound messages.

Each API send is validated on its own (mostly from cache), then waits here while the
batch before it is written; all the sends that arrived meanwhile are then written in ONE
transaction with bulk statements. Every message is committed before its request is
answered, so "stored before acknowledged" holds, and under load the cost of a commit and
of each statement is shared by the whole batch. An idle server writes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from smshub.kit.db import unit_of_work
from smshub.messaging.service import Outbound, Sent, queue_outbound

log = logging.getLogger(__name__)
Pending = tuple[Outbound, asyncio.Future[Sent]]


class SendBatcher:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], max_batch: int = 500):
        self._sessions = sessions
        self._max_batch = max_batch
        self._queue: asyncio.Queue[Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: Outbound) -> Sent:
        """Return once the message and its send job are committed."""
        self._ensure_running()
        future: asyncio.Future[Sent] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="send-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            except Exception:  # each item's future already carries its own outcome
                log.exception("send batch failed")

    async def _write(self, batch: list[Pending]) -> None:
        live = [(i, f) for i, f in batch if not f.cancelled()]
        if not live:
            return
        try:
            async with unit_of_work(self._sessions) as session:
                results = await queue_outbound(session, [i for i, _ in live])
        except Exception as exc:
            if len(live) == 1:
                if not live[0][1].done():
                    live[0][1].set_exception(exc)
                return
            # One bad item must not fail its neighbours: write them one by one.
            for one in live:
                await self._write([one])
            return
        for (_, future), sent in zip(live, results, strict=True):
            if not future.done():
                future.set_result(sent)
