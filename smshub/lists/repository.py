"""List entry writes: COPY on PostgreSQL (the bulk path ARCHITECTURE.md names), one
executemany INSERT on SQLite."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.models import ListEntry

ENTRIES = cast(Table, ListEntry.__table__)
COLUMNS = ("id", "list_id", "e164", "fields")


async def insert_entries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert entries in the session's transaction."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        await session.execute(ENTRIES.insert(), list(rows))
        return
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    async with driver.cursor() as cursor:
        sql = f"COPY list_entries ({', '.join(COLUMNS)}) FROM STDIN"
        async with cursor.copy(sql) as copy:
            for r in rows:
                await copy.write_row((r["id"], r["list_id"], r["e164"], json.dumps(r["fields"])))
