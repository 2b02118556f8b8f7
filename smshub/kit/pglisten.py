"""LISTEN on a PostgreSQL channel: connect, hear, notice a dead peer, listen again.

Shared by the realtime hub (events between processes) and the job wake-up (jobs queued
by other processes). What each does with a payload, and after a reconnect, is its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from smshub.kit.backoff import Backoff

log = logging.getLogger(__name__)
Connection = psycopg.AsyncConnection[TupleRow]
# Errors that mean the connection is gone (or the server is): listen again.
LOST = (psycopg.Error, OSError, TimeoutError)


async def listen(url: str, channel: str) -> Connection:
    """A new autocommit connection that LISTENs on `channel`."""
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
    return conn


async def relisten(url: str, channel: str, backoff: Backoff, who: str) -> Connection:
    """`listen`, after a backoff wait, until it succeeds."""
    while True:
        await backoff.wait()
        try:
            conn = await listen(url, channel)
        except (psycopg.Error, OSError) as exc:
            log.warning("%s cannot reconnect yet: %s", who, exc)
            continue
        backoff.reset()
        return conn


async def consume(conn: Connection, receive: Callable[[str], None], health_s: float) -> None:
    """Hand each payload to `receive`, until the connection fails (raises one of LOST)."""
    while True:
        async for notify in conn.notifies(timeout=health_s):
            receive(notify.payload)
        # Quiet for a while: a dead peer that never closed the socket shows up here.
        await asyncio.wait_for(conn.execute("SELECT 1"), 10)


async def close_quietly(conn: Connection | None) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):
            await conn.close()
