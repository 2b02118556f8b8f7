"""Stored parts of concatenated inbound SMPP messages (see `reassembly.py`).

Each part is written in the transaction that answers its deliver_sm, and the whole
message is received in the transaction that stores its last part, so a crash at any
point either keeps the part (the SMSC got its answer) or lets the SMSC send it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.carriers.smpp.reassembly import Complete, Stored, join, on_part
from smshub.kit.ids import new_id
from smshub.models import SmppPart

TTL = timedelta(minutes=5)


def _key(connector_id: str, source: str, destination: str, ref: int, total: int) -> Any:
    return and_(
        SmppPart.connector_id == connector_id,
        SmppPart.source == source,
        SmppPart.destination == destination,
        SmppPart.ref == ref,
        SmppPart.total == total,
    )


async def add_part(
    session: AsyncSession,
    connector_id: str,
    source: str,
    destination: str,
    ref: int,
    total: int,
    seq: int,
    text: str,
    now: datetime,
) -> Complete | None:
    """Store one part; the whole message once every part is in."""
    key = _key(connector_id, source, destination, ref, total)
    rows = await session.execute(select(SmppPart.seq, SmppPart.text, SmppPart.done).where(key))
    decision = on_part([Stored(r.seq, r.text, r.done) for r in rows], total, seq, text)
    if decision.repeat:
        return None
    if decision.reset:
        await session.execute(delete(SmppPart).where(key))
    if decision.store:
        session.add(
            SmppPart(
                id=new_id(),
                connector_id=connector_id,
                source=source,
                destination=destination,
                ref=ref,
                total=total,
                seq=seq,
                text=text,
                done=False,
                received_at=now,
            )
        )
        await session.flush()
    if decision.text is None:
        return None
    # Kept for the window, as done, so a repeat of one of them is recognised.
    await session.execute(update(SmppPart).where(key).values(done=True, received_at=now))
    return Complete(source, destination, decision.text, total)


async def expire(
    session: AsyncSession, connector_id: str, now: datetime, ttl: timedelta = TTL
) -> list[Complete]:
    """Messages whose parts stopped coming for `ttl`: what arrived, in order. Also
    forgets completed messages older than `ttl`."""
    cutoff = now - ttl
    mine = SmppPart.connector_id == connector_id
    old = SmppPart.received_at <= cutoff
    await session.execute(delete(SmppPart).where(mine, old, SmppPart.done.is_(True)))
    stale = select(SmppPart.source, SmppPart.destination, SmppPart.ref, SmppPart.total).where(
        mine, old, SmppPart.done.is_(False)
    )
    out: list[Complete] = []
    for source, destination, ref, total in (await session.execute(stale.distinct())).all():
        key = _key(connector_id, source, destination, ref, total)
        # DELETE ... RETURNING: of two processes sweeping at once, only the one whose
        # delete removed the parts delivers the message.
        gone = delete(SmppPart).where(key).returning(SmppPart.seq, SmppPart.text)
        parts = {r.seq: r.text for r in (await session.execute(gone)).all()}
        if parts:
            missing = total - len(parts)
            out.append(Complete(source, destination, join(parts, total), total, missing))
    return out
