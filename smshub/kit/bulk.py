"""Many rows in one statement: bulk INSERT and UPDATE for the hot paths.

SQLite takes an executemany (its loop runs in C). On PostgreSQL an executemany is one
Bind/Execute per row, each with its own Python work in the driver and its own executor
start in the server; here the rows travel as one array per column and one statement
unnests them: `INSERT ... SELECT * FROM unnest(...)` and `UPDATE ... FROM unnest(...)`.
Values go through each column's own bind processing, as SQLAlchemy would do per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert, text, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

Row = dict[str, Any]
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _dialect(session: AsyncSession) -> Dialect:
    return session.get_bind().dialect


def _cached(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build()
    return stmt


def _unnest(table: Table, columns: Sequence[str], dialect: Dialect) -> str:
    """`unnest(CAST(:c1 AS T1[]), ...) AS v(c1, ...)`, one array parameter a column."""
    arrays = ", ".join(
        f"CAST(:{c} AS {table.c[c].type.compile(dialect=dialect)}[])" for c in columns
    )
    return f"unnest({arrays}) AS v({_names(columns)})"


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _arrays(table: Table, columns: Sequence[str], rows: Sequence[Row], dialect: Dialect) -> Row:
    params: Row = {}
    for c in columns:
        process = table.c[c].type._cached_bind_processor(dialect)
        values = [r[c] for r in rows]
        if process is not None:
            values = [None if v is None else process(v) for v in values]
        params[c] = values
    return params


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[Row], on_conflict: str = ""
) -> None:
    """Insert `rows` (all with the same keys). `on_conflict` is the clause as SQL text,
    e.g. `ON CONFLICT (a, b) DO NOTHING`; the same clause is used on both engines."""
    if not rows:
        return
    columns = tuple(rows[0])
    dialect = _dialect(session)
    if dialect.name != "postgresql":
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
            f" SELECT * FROM {_unnest(table, columns, dialect)} {on_conflict}"
        ),
    )
    await session.execute(stmt, _arrays(table, columns, rows, dialect))


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
    dialect = _dialect(session)
    if dialect.name != "postgresql":
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
            + f" FROM {_unnest(table, columns, dialect)}"
            + f' WHERE t."{key}" = v."{key}"'
        ),
    )
    await session.execute(stmt, _arrays(table, columns, rows, dialect))
