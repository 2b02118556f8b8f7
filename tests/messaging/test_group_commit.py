"""The group commit's batching: idle writes at once, under load it lingers so that the
requests arriving meanwhile share one transaction; a bad item fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from smshub.messaging.batcher import GroupCommit


@pytest.mark.parametrize("linger_s", [0.0, 0.2])
async def test_under_load_a_linger_gathers_the_next_requests(
    sessions: async_sessionmaker[AsyncSession], linger_s: float
) -> None:
    batches: list[list[str]] = []

    async def write(session: AsyncSession, items: Sequence[str]) -> list[str]:
        batches.append(list(items))
        if "bad" in items:
            raise ValueError("bad item")
        return [i.upper() for i in items]

    gc: GroupCommit[str, str] = GroupCommit(sessions, write, "test", linger_s=linger_s)
    try:
        # Two at once: the first batch takes both, and the batcher now counts as busy.
        assert list(await asyncio.gather(gc.submit("a"), gc.submit("b"))) == ["A", "B"]
        first = asyncio.create_task(gc.submit("c"))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(gc.submit("d"))
        assert list(await asyncio.gather(first, second)) == ["C", "D"]
        # A failing item fails alone; its neighbour is written.
        results = await asyncio.gather(gc.submit("bad"), gc.submit("e"), return_exceptions=True)
        assert isinstance(results[0], ValueError) and results[1] == "E"
    finally:
        await gc.stop()
    assert batches[0] == ["a", "b"]
    if linger_s:
        assert batches[1] == ["c", "d"]
    else:
        assert batches[1:3] == [["c"], ["d"]]
