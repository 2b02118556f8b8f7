"""Rating rules: the tenant's price list per destination prefix (U2)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth.actor import Actor, check_admin
from smshub.billing import schemas
from smshub.billing.rating import RateTable
from smshub.models import RatingRule


async def rules_of(session: AsyncSession, tenant_id: str) -> list[RatingRule]:
    stmt = select(RatingRule).where(RatingRule.tenant_id == tenant_id).order_by(RatingRule.prefix)
    return list((await session.execute(stmt)).scalars())


async def get_rules(session: AsyncSession, actor: Actor) -> schemas.RatingRules:
    check_admin(actor)
    rows = await rules_of(session, actor.tenant_id)
    return schemas.RatingRules(rules=[schemas.RatingRule.model_validate(r) for r in rows])


async def replace_rules(
    session: AsyncSession, actor: Actor, data: schemas.RatingRules
) -> schemas.RatingRules:
    check_admin(actor)
    await session.execute(delete(RatingRule).where(RatingRule.tenant_id == actor.tenant_id))
    session.add_all(
        RatingRule(
            tenant_id=actor.tenant_id, prefix=r.prefix, price_per_segment=r.price_per_segment
        )
        for r in data.rules
    )
    await session.flush()
    return await get_rules(session, actor)


async def rate_table(session: AsyncSession, tenant_id: str) -> RateTable:
    return RateTable((r.prefix, r.price_per_segment) for r in await rules_of(session, tenant_id))
