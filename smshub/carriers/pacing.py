"""Throughput limits shared by every process: token buckets kept in `carrier_pacing`.

The send job asks for as many tokens as it has messages; each bucket row is read with
SELECT ... FOR UPDATE on PostgreSQL (SQLite has one writer anyway), refilled and spent
by `throttle.grant`, and written back in the job's transaction. Messages that get no
token are queued again for the moment the next token is due: no worker sleeps while
holding a transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.carriers.throttle import Bucket, Reservation, reserve
from smshub.models import CarrierPacing


def keys(
    connector_id: str, connector_rate: int, sender: str, sender_rate: float
) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    if connector_rate > 0:
        out.append((f"connector:{connector_id}", float(connector_rate)))
    if sender_rate > 0:
        out.append((f"sender:{sender}", sender_rate))
    return out


async def take(
    session: AsyncSession,
    limits: Sequence[tuple[str, float]],
    wanted: int,
    now: float,
    horizon_s: float = 0.0,
) -> Reservation:
    """Tokens for up to `wanted` messages from every limit in `limits` (key, rate), and
    bookings up to `horizon_s` ahead (see `throttle.reserve`)."""
    if not limits or wanted <= 0:
        return Reservation(wanted, (), (), 0.0)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    names = [k for k, _ in limits]
    await session.execute(
        insert(CarrierPacing)
        .values([{"key": k, "tokens": 0.0, "at": now} for k in names])
        .on_conflict_do_nothing(index_elements=["key"])
    )
    stmt = select(CarrierPacing).where(CarrierPacing.key.in_(names)).order_by(CarrierPacing.key)
    if dialect == "postgresql":
        stmt = stmt.with_for_update()
    rows = {
        r.key: r
        for r in (await session.execute(stmt.execution_options(populate_existing=True))).scalars()
    }
    buckets = [Bucket(rate, rows[k].tokens, rows[k].at) for k, rate in limits]
    result = reserve(buckets, wanted, now, horizon_s)
    for (k, _), bucket in zip(limits, result.buckets, strict=True):
        rows[k].tokens, rows[k].at = bucket.tokens, bucket.at
    await session.flush()
    return result


# Tokens of the messages sent by this process, per connector: see `smooth`.
_SENT_HERE: dict[str, Bucket] = {}


def smooth(connector_id: str, rate: float, n: int, now: float) -> list[float]:
    """Seconds each of `n` messages that hold a token must still wait (0: send now).

    A booked message holds its token for a moment, but it reaches the sending process
    when that process gets to it: after a stall, a slow bind, or a round through a
    worker that does not hold the bind. Sent on arrival, such messages went out in
    bursts of several seconds' tokens (700 in one second at 200/s). So the process that
    sends also keeps a bucket of its own, full at start and holding one second's tokens
    like the shared one, and only the messages it has tokens for go now; the rest go back
    to the queue, keeping their booked token, for when it has. Only the messages sent
    now spend here, so a message told to wait is not counted twice when it comes back.
    """
    if rate <= 0 or n <= 0:
        return [0.0] * max(n, 0)
    bucket = _SENT_HERE.get(connector_id)
    if bucket is None or bucket.rate != rate:
        empty = Bucket(rate, 0.0, now)
        bucket = replace(empty, tokens=empty.burst)
    bucket = bucket.refill(now)
    waits = [bucket.due_in(i) for i in range(n)]
    _SENT_HERE[connector_id] = bucket.spend(sum(1 for w in waits if w <= 0))
    return waits
