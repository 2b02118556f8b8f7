"""REST: /simulator/inbound and /simulator/outbox (K4)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from smshub.carriers.simulator import service
from smshub.kit.deps import DB, CurrentActor, Cursor
from smshub.kit.pagination import Page, check_cursor, next_cursor
from smshub.kit.validation import E164Number

router = APIRouter(tags=["simulator"])


class Inbound(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: E164Number = Field(alias="from")
    to: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    body: Annotated[str, StringConstraints(max_length=5000)]
    media_ids: Annotated[list[str], Field(max_length=10)] = Field(default_factory=list)


class InboundAccepted(BaseModel):
    message_id: str | None
    quarantine_id: str | None
    action: str | None


class OutboxEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)
    id: str
    message_id: str
    from_e164: str = Field(serialization_alias="from")
    sender_id: str | None = Field(None, description="The alphanumeric sender shown, if any.")
    to_e164: str = Field(serialization_alias="to")
    body: str
    segments: int
    at: datetime


@router.post("/simulator/inbound", response_model=InboundAccepted, status_code=202)
async def inbound(
    request: Request, session: DB, actor: CurrentActor, data: Inbound
) -> InboundAccepted:
    """As if a mobile phone sent it. A message to an unknown number is quarantined."""
    item = await service.inbound_item(
        session, actor, from_e164=data.from_, to_e164=data.to, body=data.body
    )
    # Release this request's connection, then join the shared batch transaction.
    await session.commit()
    got = await request.app.state.inbound.submit(item)
    return InboundAccepted(
        message_id=got.message_id, quarantine_id=got.quarantine_id, action=got.action
    )


@router.get("/simulator/outbox", response_model=Page[OutboxEntry])
async def outbox(
    session: DB,
    actor: CurrentActor,
    to: Annotated[str | None, Query(max_length=32)] = None,
    since: datetime | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[OutboxEntry]:
    """What the simulated network received, oldest first."""
    rows = await service.outbox(
        session, actor, to=to, since=since, after=check_cursor(cursor), limit=limit
    )
    items = [OutboxEntry.model_validate(r) for r in rows[:limit]]
    return Page(items=items, next_cursor=next_cursor(rows, limit))
