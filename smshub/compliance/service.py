"""The blocklist and opt-out compliance (B5): one entry point per state change."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth.actor import Actor, check_admin
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.ids import new_id
from smshub.models import BlocklistEntry


async def opt_out(
    session: AsyncSession, tenant_id: str, e164: str, clock: Clock | None = None
) -> None:
    """Add a number to the tenant blocklist because its owner asked (source `opt_out`)."""
    await _add(session, tenant_id, e164, "opt_out", clock)


async def opt_in(session: AsyncSession, tenant_id: str, e164: str) -> None:
    await session.execute(
        delete(BlocklistEntry).where(
            BlocklistEntry.tenant_id == tenant_id, BlocklistEntry.e164 == e164
        )
    )


async def _add(
    session: AsyncSession, tenant_id: str, e164: str, source: str, clock: Clock | None
) -> None:
    values = {
        "tenant_id": tenant_id,
        "e164": e164,
        "source": source,
        "created_at": (clock or SystemClock()).now(),
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(BlocklistEntry).values(id=new_id(), **values)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["tenant_id", "e164"]))


async def is_blocklisted(session: AsyncSession, tenant_id: str, e164: str) -> bool:
    stmt = select(BlocklistEntry.id).where(
        BlocklistEntry.tenant_id == tenant_id, BlocklistEntry.e164 == e164
    )
    return (await session.execute(stmt)).first() is not None


async def list_blocklist(
    session: AsyncSession, actor: Actor, *, cursor: str | None, limit: int
) -> Sequence[BlocklistEntry]:
    check_admin(actor)
    stmt = select(BlocklistEntry).where(BlocklistEntry.tenant_id == actor.tenant_id)
    if cursor:
        stmt = stmt.where(BlocklistEntry.id > cursor)
    return (
        (await session.execute(stmt.order_by(BlocklistEntry.id).limit(limit + 1))).scalars().all()
    )
