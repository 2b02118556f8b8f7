"""Many rows in one statement: bulk INSERT and UPDATE for the hot paths.

SQLite takes an executemany (its loop runs in C). On PostgreSQL an executemany is one
Bind/Execute per row, each with its own Python work in the driver and its own executor
start in the server. Here the rows travel as ONE JSON parameter, which the server turns
into rows of the table's own type: `INSERT ... SELECT ... FROM json_populate_recordset`
and `UPDATE ... FROM json_populate_recordset`. JSON is encoded in C, where an array per
column went through the driver's Python array dumper value by value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, bindparam, insert, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

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
    return json.dumps(rows, default=_json_value, ensure_ascii=False, separators=(",", ":"))


def _type(table: Table, column: str) -> str:
    return str(table.c[column].type.compile(dialect=_PG))


def _recordset(table: Table) -> str:
    return f'json_populate_recordset(NULL::"{table.name}", CAST(:rows AS JSON)) AS v'


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[Row], on_conflict: str = ""
) -> None:
    """Insert `rows` (all with the same keys). `on_conflict` is the clause as SQL text,
    e.g. `ON CONFLICT (a, b) DO NOTHING`; the same clause is used on both engines."""
    if not rows:
        return
    columns = tuple(rows[0])
    if session.get_bind().dialect.name != "postgresql":
        stmt = _cached(
            ("sqlite-insert", table.name, columns, on_conflict),
            lambda: _sqlite_insert(table, columns, on_conflict),
        )
        await session.execute(stmt, list(rows))
        return
    stmt = _cached(
        ("pg-insert", table.name, columns, on_conflict),
        lambda: text(
            f'INSERT INTO "{table.name}" ({_names(columns)})'
            f" SELECT {_names(columns, 'v.')} FROM {_recordset(table)} {on_conflict}"
        ),
    )
    await session.execute(stmt, {"rows": _rows_json(rows)})


def _sqlite_insert(table: Table, columns: tuple[str, ...], on_conflict: str) -> Any:
    if not on_conflict:
        return insert(table)
    marks = ", ".join(f":{c}" for c in columns)
    # Typed parameters: each value gets its column's bind processing, as in insert().
    return text(
        f'INSERT INTO "{table.name}" ({_names(columns)}) VALUES ({marks}) {on_conflict}'
    ).bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))


async def update_rows(session: AsyncSession, table: Table, key: str, rows: Sequence[Row]) -> None:
    """Set each row's other columns where `key` equals its `key` (all rows with the same
    keys; each key at most once)."""
    if not rows:
        return
    columns = tuple(rows[0])
    values = tuple(c for c in columns if c != key)
    if session.get_bind().dialect.name != "postgresql":
        stmt = _cached(
            ("sqlite-update", table.name, key, columns),
            lambda: (
                update(table)
                .where(table.c[key] == bindparam(f"_{key}"))
                .values({c: bindparam(f"_{c}") for c in values})
            ),
        )
        await session.execute(stmt, [{f"_{c}": r[c] for c in columns} for r in rows])
        return
    stmt = _cached(
        ("pg-update", table.name, key, columns),
        lambda: text(
            f'UPDATE "{table.name}" AS t SET '
            + ", ".join(f'"{c}" = v."{c}"' for c in values)
            + f' FROM {_recordset(table)} WHERE t."{key}" = v."{key}"'
            # The keys again, as an array: an index scan for them is plainly cheaper than
            # reading the table, where the join alone let PostgreSQL, its statistics
            # behind a growing table, hash a scan of the whole table.
            + f' AND t."{key}" = ANY(CAST(:keys AS {_type(table, key)}[]))'
        ),
    )
    keys = [r[key] for r in rows]
    await session.execute(stmt, {"rows": _rows_json(rows), "keys": keys})
