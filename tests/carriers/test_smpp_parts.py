"""Stored parts of concatenated inbound SMPP messages, on a real database: out of order,
repeated, completed once, given up on with what arrived, and kept across a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from smshub.carriers.smpp import parts
from smshub.carriers.smpp.reassembly import Complete
from smshub.kit.db import unit_of_work
from smshub.models import SmppPart

T0 = datetime(2026, 1, 1, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


async def add(sessions: Sessions, seq: int, text: str, at: datetime, total: int = 3, ref: int = 5):
    async with unit_of_work(sessions) as session:
        return await parts.add_part(session, "c1", "+1", "+2", ref, total, seq, text, at)


async def expire(sessions: Sessions, at: datetime) -> list[Complete]:
    async with unit_of_work(sessions) as session:
        return await parts.expire(session, "c1", at, timedelta(seconds=60))


async def stored(sessions: Sessions) -> int:
    async with sessions() as session:
        return int((await session.execute(select(func.count(SmppPart.id)))).scalar_one())


async def test_out_of_order_and_duplicates_complete_once(sessions: Sessions):
    assert await add(sessions, 3, "c", T0) is None
    assert await add(sessions, 1, "a", T0) is None
    assert await add(sessions, 1, "a", T0) is None  # duplicate
    done = await add(sessions, 2, "b", T0)
    assert done == Complete("+1", "+2", "abc", 3)
    # A part repeated after completion is not a new message...
    assert await add(sessions, 2, "b", T0 + timedelta(seconds=5)) is None
    assert await expire(sessions, T0 + timedelta(seconds=30)) == []
    # ...and the completed parts are forgotten after the window.
    assert await expire(sessions, T0 + timedelta(seconds=61)) == []
    assert await stored(sessions) == 0


async def test_a_reused_reference_is_a_new_message(sessions: Sessions):
    for seq, text in ((1, "a"), (2, "b")):
        done = await add(sessions, seq, text, T0, total=2)
    assert done is not None and done.text == "ab"
    later = T0 + timedelta(seconds=6)
    assert await add(sessions, 1, "x", later, total=2) is None
    done = await add(sessions, 2, "y", later, total=2)
    assert done is not None and done.text == "xy"


async def test_parts_that_stop_coming_are_delivered_as_far_as_they_got(sessions: Sessions):
    await add(sessions, 1, "a", T0)
    await add(sessions, 3, "c", T0 + timedelta(seconds=30))
    assert await expire(sessions, T0 + timedelta(seconds=59)) == []
    [late] = await expire(sessions, T0 + timedelta(seconds=60))
    assert (late.text, late.parts, late.missing) == ("ac", 3, 1)
    assert await stored(sessions) == 0
    assert await expire(sessions, T0 + timedelta(seconds=120)) == []


async def test_parts_survive_a_restart(engine):
    """A part acknowledged by one process completes its message in the next one."""
    from smshub.kit.db import session_factory

    first = session_factory(engine)
    assert await add(first, 1, "Hello ", T0, total=2) is None
    await engine.dispose()  # the process goes; only the database remains
    second = session_factory(engine)
    done = await add(second, 2, "world", T0 + timedelta(seconds=1), total=2)
    assert done is not None and done.text == "Hello world"


async def test_two_sweeps_at_once_deliver_a_message_once(sessions: Sessions):
    """Two processes may sweep the same connector: only the one whose delete removed
    the parts delivers them."""
    import asyncio

    await add(sessions, 1, "a", T0)
    late = T0 + timedelta(seconds=61)
    results = await asyncio.gather(expire(sessions, late), expire(sessions, late))
    assert sorted(len(r) for r in results) == [0, 1]
