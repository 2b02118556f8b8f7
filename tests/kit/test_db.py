"""Engine set-up: SQLite pragmas, URL mapping, aware UTC datetimes on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from smshub.kit.db import async_url, sync_url
from smshub.models import Tenant


def test_url_mapping():
    assert async_url("sqlite:///var/x.db") == "sqlite+aiosqlite:///var/x.db"
    assert async_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert sync_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert sync_url("sqlite+aiosqlite:///x.db") == "sqlite:///x.db"


async def test_sqlite_runs_wal_with_foreign_keys(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_datetimes_come_back_aware_utc(sessions):
    local = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=10)))
    async with sessions() as s:
        s.add(Tenant(id="01J0000000000000000000000T", name="T", slug="t", created_at=local))
        await s.commit()
    async with sessions() as s:
        got = (await s.execute(select(Tenant.created_at))).scalar_one()
    assert got == local and got.tzinfo is not None and got.utcoffset() == timedelta(0)
    assert got == datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


async def test_sqlite_writer_waits_for_the_lock_without_blocking_the_loop(tmp_path):
    """Statements run on the loop; a writer that finds the lock taken yields to the loop
    until the holder (here, in this same process) commits."""
    import asyncio

    from smshub.kit.db import create_engine

    url = f"sqlite:///{tmp_path}/lock.db"
    a, b = create_engine(url), create_engine(url)
    try:
        async with a.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        async def second_writer() -> None:
            async with b.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (2)"))

        tick_task = asyncio.create_task(ticker())
        async with a.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (1)"))
            waiting = asyncio.create_task(second_writer())
            await asyncio.sleep(0.3)  # holds the write lock meanwhile
            assert not waiting.done()
        await asyncio.wait_for(waiting, 5)
        tick_task.cancel()
        assert ticks >= 30  # the loop kept running while the second writer waited
        async with a.connect() as conn:
            got = (await conn.execute(text("SELECT x FROM t ORDER BY x"))).scalars().all()
        assert got == [1, 2]
    finally:
        await a.dispose()
        await b.dispose()


class _Sink:
    def __init__(self) -> None:
        self.events: list[object] = []

    def publish(self, events) -> None:
        self.events.extend(events)


async def test_a_unit_of_work_that_did_nothing_begins_no_transaction(engine):
    """A request answered from cache must not pay for an empty BEGIN/COMMIT."""
    from sqlalchemy import event

    from smshub.kit.db import session_factory, unit_of_work

    begins: list[object] = []
    listener = lambda conn: begins.append(conn)  # noqa: E731
    event.listen(engine.sync_engine, "begin", listener)
    try:
        async with unit_of_work(session_factory(engine)) as s:
            assert not s.in_transaction()
        assert begins == []
        async with unit_of_work(session_factory(engine)) as s:
            await s.execute(select(Tenant.id))
        assert len(begins) == 1
    finally:
        event.remove(engine.sync_engine, "begin", listener)


async def test_a_unit_of_work_still_commits_what_waits_without_a_transaction(engine):
    """Objects added but not flushed, objects changed after an earlier commit, and events
    emitted without a statement all still reach the database or the sink."""
    from smshub.kit.db import commit, session_factory, unit_of_work
    from smshub.kit.outbox import emit, session_info

    sink = _Sink()
    factory = session_factory(engine, info=session_info(sink, None))
    tid = "01J0000000000000000000000U"
    async with unit_of_work(factory) as s:
        s.add(Tenant(id=tid, name="Before", slug="u", created_at=datetime.now(UTC)))
    async with unit_of_work(factory) as s:
        tenant = await s.get(Tenant, tid)
        assert tenant is not None
        await commit(s)
        tenant.name = "After"  # a loaded row changed after the commit
    async with unit_of_work(factory) as s:
        assert (await s.execute(select(Tenant.name))).scalar_one() == "After"
    async with unit_of_work(factory) as s:
        emit(s, "test.event", tid, ["u1"], {"x": 1})
    assert [e.type for e in sink.events] == ["test.event"]  # type: ignore[attr-defined]
