"""REST: /rating-rules, the tenant's price per segment by destination prefix (U2)."""

from __future__ import annotations

from fastapi import APIRouter

from smshub.billing import schemas, service
from smshub.kit.deps import DB, AdminActor

router = APIRouter(tags=["billing"])


@router.get("/rating-rules", response_model=schemas.RatingRules)
async def get_rating_rules(session: DB, actor: AdminActor) -> schemas.RatingRules:
    """The price list. Campaign previews estimate their cost from it."""
    return await service.get_rules(session, actor)


@router.put("/rating-rules", response_model=schemas.RatingRules)
async def put_rating_rules(
    session: DB, actor: AdminActor, data: schemas.RatingRules
) -> schemas.RatingRules:
    """Replace the price list: each rule prices the destinations that start with its
    prefix; the longest matching prefix wins."""
    return await service.replace_rules(session, actor, data)
