"""The simulated mobile side: inject inbound messages, read what the network received."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth.actor import Actor, check_admin
from smshub.kit.cache import cache
from smshub.messaging.receiving import Inbound
from smshub.models import Connector, SimulatorOutbox


async def inbound_item(
    session: AsyncSession, actor: Actor, *, from_e164: str, to_e164: str, body: str
) -> Inbound:
    """As if a mobile phone sent it; only into the caller's own tenant. The caller
    writes it, alone or with others (`receiving.receive_many`)."""
    check_admin(actor)
    return Inbound(
        from_e164=from_e164,
        to_e164=to_e164,
        body=body,
        connector_id=await _simulator_of(session, actor.tenant_id),
        tenant_scope=actor.tenant_id,
    )


async def _simulator_of(session: AsyncSession, tenant_id: str) -> str | None:
    return await cache.get(("simulator_of", tenant_id), lambda: _load_simulator(session, tenant_id))


async def _load_simulator(session: AsyncSession, tenant_id: str) -> str | None:
    stmt = (
        select(Connector.id)
        .where(Connector.kind == "simulator", Connector.tenant_id == tenant_id)
        .order_by(Connector.id)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def outbox(
    session: AsyncSession,
    actor: Actor,
    *,
    to: str | None,
    since: datetime | None,
    after: str | None,
    limit: int,
) -> Sequence[SimulatorOutbox]:
    check_admin(actor)
    stmt = select(SimulatorOutbox).where(SimulatorOutbox.tenant_id == actor.tenant_id)
    if to:
        stmt = stmt.where(SimulatorOutbox.to_e164 == to)
    if since:
        stmt = stmt.where(SimulatorOutbox.at >= since)
    if after:
        stmt = stmt.where(SimulatorOutbox.id > after)
    return (
        (await session.execute(stmt.order_by(SimulatorOutbox.id).limit(limit + 1))).scalars().all()
    )
