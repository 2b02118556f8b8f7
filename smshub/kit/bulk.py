"""Many rows in one statement: bulk INSERT and UPDATE for the hot paths.

SQLite takes an executemany (its loop runs in C). On PostgreSQL an executemany is one
Bind/Execute per row, each with its own Python work in the driver and its own executor
start in the server. Here the rows travel as ONE JSON parameter, which the server turns
into rows of the table's own type: `INSERT ... SELECT ... FROM json_populate_recordset`
and `UPDATE ... FROM json_populate_recordset`. JSON is encoded in C, where an array per
column went through the driver's Python array dumper value by value.

The statements go to the driver's own connection, inside the session's transaction:
through SQLAlchemy each cost a greenlet hand-off, an execution context and a dict of
parameters per row built and processed in Python, about half of a batch's write time.
Values still get their column type's bind processing (the dialect's own processors), so
they are stored exactly as an ORM insert stores them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.kit.cache import WATCHED, mark_dirty

Row = dict[str, Any]
_PG = postgresql.dialect()  # type: ignore[no-untyped-call]
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _cached(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build()
    return stmt


def _names(columns: Sequence[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{c}"' for c in columns)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # as UTCDateTime: an aware time or nothing
            raise ValueError("naive datetime stored; use an aware UTC datetime")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in bulk")


def _rows_json(rows: Sequence[Row]) -> str:
    # orjson: a fifth of the stdlib encoder's time here. It refuses what it cannot put in
    # UTF-8 (a lone surrogate); the stdlib encoder then writes it as before.
    try:
        return orjson.dumps(rows, default=_json_value, option=_PASSTHROUGH).decode()
    except orjson.JSONEncodeError:
        return json.dumps(rows, default=_json_value, ensure_ascii=False, separators=(",", ":"))


# Datetimes go through `_json_value` too, which refuses a naive one.
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME


def _type(table: Table, column: str) -> str:
    return str(table.c[column].type.compile(dialect=_PG))


def _recordset(table: Table) -> str:
    return f'json_populate_recordset(NULL::"{table.name}", CAST(%s AS JSON)) AS v'


Convert = Callable[[Row], tuple[Any, ...]]


def _converter(table: Table, columns: Sequence[str], dialect: Dialect) -> Convert:
    """A row's values in `columns` order, each through its type's bind processor."""
    procs = [(c, table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) for c in columns]
    if not any(p for _, p in procs):
        return lambda row: tuple(row[c] for c in columns)
    return lambda row: tuple(p(row[c]) if p else row[c] for c, p in procs)


def _check_defaults(table: Table, columns: Sequence[str]) -> None:
    """Python-side column defaults are not applied here: rows must carry those columns."""
    missing = [c.name for c in table.c if c.default is not None and c.name not in columns]
    if missing:
        raise ValueError(f"bulk insert into {table.name} must give {', '.join(missing)}")


async def _driver(session: AsyncSession) -> tuple[Any, Dialect]:
    """The driver connection under the session's transaction (begun if need be)."""
    conn = await session.connection()
    return conn.sync_connection.connection.driver_connection, conn.dialect  # type: ignore[union-attr]


@asynccontextmanager
async def pipeline(session: AsyncSession) -> AsyncIterator[None]:
    """PostgreSQL: the statements inside are sent without waiting for each answer, and
    the answers are read in one round trip at the end (psycopg's pipeline mode). Only
    this module's statements belong inside: SQLAlchemy looks for a result's rows before
    the pipeline has read them, and finds none. An error surfaces by the end at the
    latest, and the transaction is then aborted as usual. On a busy two-core machine
    every round trip also waits for the scheduler: at 500 sends a second, a group
    commit's five writes took 2.7-3.3 ms in one trip against 4.3-4.4 ms in five. SQLite
    has no round trips: nothing changes there."""
    driver, dialect = await _driver(session)
    if dialect.name != "postgresql":
        yield
        return
    async with driver.pipeline():
        yield


async def pg_rows(session: AsyncSession, sql: str, params: Sequence[Any]) -> list[Any]:
    """The rows of a PostgreSQL query with `%s` parameters, read on the driver
    connection (so it may run inside `pipeline`)."""
    driver, _ = await _driver(session)
    cursor = await driver.execute(sql, params)
    return list(await cursor.fetchall())


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[Row], on_conflict: str = ""
) -> None:
    """Insert `rows` (all with the same keys). `on_conflict` is the clause as SQL text,
    e.g. `ON CONFLICT (a, b) DO NOTHING`; the same clause is used on both engines."""
    if not rows:
        return
    if table.name in WATCHED:
        mark_dirty(session)
    columns = tuple(rows[0])
    driver, dialect = await _driver(session)
    if dialect.name != "postgresql":
        sql, convert = _cached(
            ("sqlite-insert", table.name, columns, on_conflict),
            lambda: _sqlite_insert(table, columns, on_conflict, dialect),
        )
        await driver.run(driver.raw.executemany, sql, [convert(r) for r in rows])
        return
    sql = _cached(
        ("pg-insert", table.name, columns, on_conflict),
        lambda: _pg_insert(table, columns, on_conflict),
    )
    await driver.execute(sql, (_rows_json(rows),))


def _sqlite_insert(
    table: Table, columns: tuple[str, ...], on_conflict: str, dialect: Dialect
) -> tuple[str, Convert]:
    _check_defaults(table, columns)
    marks = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{table.name}" ({_names(columns)}) VALUES ({marks}) {on_conflict}'
    return sql, _converter(table, columns, dialect)


def _pg_insert(table: Table, columns: tuple[str, ...], on_conflict: str) -> str:
    _check_defaults(table, columns)
    return (
        f'INSERT INTO "{table.name}" ({_names(columns)})'
        f" SELECT {_names(columns, 'v.')} FROM {_recordset(table)} {on_conflict}"
    )


async def update_rows(session: AsyncSession, table: Table, key: str, rows: Sequence[Row]) -> None:
    """Set each row's other columns where `key` equals its `key` (all rows with the same
    keys; each key at most once)."""
    if not rows:
        return
    if table.name in WATCHED:
        mark_dirty(session)
    columns = tuple(rows[0])
    values = tuple(c for c in columns if c != key)
    driver, dialect = await _driver(session)
    if dialect.name != "postgresql":
        sql, convert = _cached(
            ("sqlite-update", table.name, key, columns),
            lambda: (
                f'UPDATE "{table.name}" SET '
                + ", ".join(f'"{c}" = ?' for c in values)
                + f' WHERE "{key}" = ?',
                _converter(table, (*values, key), dialect),
            ),
        )
        await driver.run(driver.raw.executemany, sql, [convert(r) for r in rows])
        return
    sql = _cached(
        ("pg-update", table.name, key, columns),
        lambda: (
            f'UPDATE "{table.name}" AS t SET '
            + ", ".join(f'"{c}" = v."{c}"' for c in values)
            + f' FROM {_recordset(table)} WHERE t."{key}" = v."{key}"'
            # The keys again, as an array: an index scan for them is plainly cheaper than
            # reading the table, where the join alone let PostgreSQL, its statistics
            # behind a growing table, hash a scan of the whole table.
            + f' AND t."{key}" = ANY(CAST(%s AS {_type(table, key)}[]))'
        ),
    )
    await driver.execute(sql, (_rows_json(rows), [r[key] for r in rows]))
