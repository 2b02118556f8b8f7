"""Engines, pragmas and sessions for SQLite and PostgreSQL.

`SMSHUB_DATABASE_URL` takes `sqlite:///path` or `postgresql://...`; we map those to the
async drivers (aiosqlite, psycopg 3) and to sync ones for Alembic.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import DateTime, MetaData, String, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both engines (SQLite keeps no zone of its own).

    On SQLite the value is stored as SQLAlchemy's own DATETIME text,
    'YYYY-MM-DD HH:MM:SS.ffffff' in UTC, but written with isoformat and read with
    fromisoformat (both in C) instead of the dialect's %-formatting and regex: every
    message's row, history and job carry several of them."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        return super().load_dialect_impl(dialect)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def async_url(url: str) -> str:
    u = make_url(url)
    if u.drivername in ("sqlite", "sqlite+pysqlite"):
        return str(u.set(drivername="sqlite+aiosqlite"))
    if u.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+asyncpg"):
        return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return u.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    u = make_url(url)
    if u.drivername.startswith("sqlite"):
        return str(u.set(drivername="sqlite"))
    if u.drivername.startswith("postgres"):
        return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return u.render_as_string(hide_password=False)


def psycopg_url(database_url: str) -> str:
    """psycopg wants plain `postgresql://`; settings may say `postgresql+psycopg://`."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def ensure_sqlite_dir(url: str) -> None:
    u = make_url(url)
    if u.drivername.startswith("sqlite") and u.database and u.database != ":memory:":
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def install_sqlite_pragmas(engine: Any) -> None:
    event.listen(engine, "connect", _sqlite_pragmas)


BUSY_WAIT_S = 30.0


class InlineSqlite(aiosqlite.Connection):
    """aiosqlite that runs each call on the event loop instead of handing it to its
    thread. The hand-off (queue, thread switch, loop wake-up) cost ~350 us a statement
    on our machines, where an indexed SQLite statement takes a few. With one connection
    per engine, a slow statement held up every request anyway; now it also holds up the
    loop, so SQLite stays the one-process, modest-traffic engine (PostgreSQL scales).

    SQLite's busy handler would sleep inside the loop while another connection holds the
    write lock, and that connection may need the loop to finish: so these connections
    have no busy timeout, and wait here, yielding to the loop, for up to BUSY_WAIT_S."""

    @property
    def raw(self) -> sqlite3.Connection:
        """The sqlite3 connection, for statements that skip SQLAlchemy (kit.bulk)."""
        return self._conn

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call `fn` (a method of `raw`), waiting out another connection's write lock."""
        return await self._execute(fn, *args)

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        delay, waited = 0.001, 0.0
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                # Plain SQLITE_BUSY only: the statement did not run and may be retried.
                if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
                    raise
                if waited >= BUSY_WAIT_S:
                    raise
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.05)


def _no_busy_timeout(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=0")
    cur.close()


def _sqlite_creator(path: str) -> Callable[[], InlineSqlite]:
    def connect() -> InlineSqlite:
        # Opened on aiosqlite's thread (which then idles), used on the loop's.
        return InlineSqlite(partial(sqlite3.connect, path, check_same_thread=False), 64)

    return connect


def create_engine(url: str, pool_size: int = 20) -> AsyncEngine:
    ensure_sqlite_dir(url)
    aurl = async_url(url)
    if is_sqlite(url):
        creator = _sqlite_creator(make_url(url).database or ":memory:")
        # One connection: SQLite has one writer, and queueing on the pool is fair and
        # instant where SQLite's own busy handler sleeps in steps of up to 100 ms.
        if ":memory:" in url:
            engine = create_async_engine(aurl, poolclass=NullPool, async_creator=creator)
        else:
            engine = create_async_engine(
                aurl, pool_size=1, max_overflow=0, pool_timeout=60, async_creator=creator
            )
        install_sqlite_pragmas(engine.sync_engine)
        event.listen(engine.sync_engine, "connect", _no_busy_timeout)  # after the pragmas
        return engine
    # A fixed pool: overflow connections were opened and closed per request under load,
    # and a PostgreSQL connect (a backend fork) costs more than the request itself.
    return create_async_engine(
        aurl,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        pool_recycle=1800,
        connect_args={"application_name": application_name()},
    )


def application_name() -> str:
    """This process's name on its PostgreSQL connections (pg_stat_activity shows it).
    The jobs trigger sends it with its NOTIFY, so a process can tell its own enqueues,
    which already woke its runner in memory, from other processes' (kit.jobwake)."""
    return f"smshub:{os.getpid()}"


def session_factory(
    engine: AsyncEngine, info: dict[str, Any] | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded rows after commit; `info` carries the event sink."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info or {})


# Keys of `session.info` that after-commit hooks act on (kit.outbox, kit.cache).
AFTER_COMMIT: set[str] = set()


def untouched(session: AsyncSession) -> bool:
    """The session began no transaction, holds no object and has no after-commit work
    (AFTER_COMMIT). Committing or closing it would do nothing but pay SQLAlchemy's price:
    a greenlet hand-off, and for a commit a transaction begun only to be ended (~0.1 ms
    each, several per request when the caller's checks were all answered from cache)."""
    # Adding or deleting an object begins the session's transaction (SQLAlchemy's
    # autobegin), and a row changed after an earlier commit is in the identity map.
    return not (
        session.in_transaction()
        or session.identity_map
        or any(key in session.info for key in AFTER_COMMIT)
    )


async def commit(session: AsyncSession) -> None:
    """`session.commit()`, skipped when there is nothing to commit."""
    if not untouched(session):
        await session.commit()


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """The edge's transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        await commit(session)
    except BaseException:
        await session.rollback()
        raise
    finally:
        if not untouched(session):
            await session.close()
