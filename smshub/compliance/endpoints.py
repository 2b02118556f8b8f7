"""REST: /blocklist (read-only until campaigns bring its management)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from smshub.compliance import service
from smshub.kit.deps import DB, CurrentActor, Cursor, Limit
from smshub.kit.pagination import Page, check_cursor, next_cursor

router = APIRouter(tags=["blocklist"])


class BlocklistEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    e164: str
    source: str
    created_at: datetime


@router.get("/blocklist", response_model=Page[BlocklistEntry])
async def list_blocklist(
    session: DB, actor: CurrentActor, cursor: Cursor = None, limit: Limit = 50
) -> Page[BlocklistEntry]:
    rows = await service.list_blocklist(session, actor, cursor=check_cursor(cursor), limit=limit)
    items = [BlocklistEntry.model_validate(r) for r in rows[:limit]]
    return Page(items=items, next_cursor=next_cursor(rows, limit))
