"""REST: /campaigns (B2-B4) and /messages/bulk (B6). Admin only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from pydantic import ValidationError

from smshub.campaigns import schemas, service, views
from smshub.kit.deps import DB, AdminActor, Cursor, Limit
from smshub.kit.pagination import Page
from smshub.kit.validation import invalid_from
from smshub.lists import importer
from smshub.lists.schemas import ImportReport, Region

router = APIRouter(tags=["campaigns"])
CampaignId = Annotated[str, "campaign id"]


class CreatedFromCsv(schemas.Campaign):
    report: ImportReport


@router.get("/campaigns", response_model=Page[schemas.Campaign])
async def list_campaigns(
    session: DB,
    actor: AdminActor,
    status: Annotated[schemas.Status | None, Query(description="Only this status.")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[schemas.Campaign]:
    return await service.list_campaigns(session, actor, status=status, cursor=cursor, limit=limit)


@router.post("/campaigns", response_model=schemas.Campaign, status_code=201)
async def create_campaign(
    session: DB, actor: AdminActor, data: schemas.CampaignCreate
) -> schemas.Campaign:
    """A draft campaign to a predefined list (`list_id`). For an uploaded CSV, use
    `POST /campaigns/import`."""
    campaign = await service.create_from_list(session, actor, data)
    return await views.present(session, campaign)


@router.post("/campaigns/import", response_model=CreatedFromCsv, status_code=201)
async def create_campaign_from_csv(
    session: DB,
    actor: AdminActor,
    file: Annotated[UploadFile, File(description="CSV: a 'number' column plus any others.")],
    name: Annotated[str, Form()],
    from_: Annotated[str, Form(alias="from")],
    body: Annotated[str, Form()],
    sender_type: Annotated[str, Form()] = "number",
    rating_user_id: Annotated[str | None, Form()] = None,
    rate: Annotated[int, Form()] = 10,
    quiet_start: Annotated[str | None, Form()] = None,
    quiet_end: Annotated[str | None, Form()] = None,
    country: Annotated[Region | None, Form(description="Region of national numbers.")] = None,
) -> CreatedFromCsv:
    """A draft campaign whose recipients come from the uploaded CSV (multipart). Invalid
    and duplicate rows become skipped recipients and are listed in `report`."""
    try:
        fields = schemas.CampaignFields.model_validate(
            {
                "name": name,
                "from": from_,
                "body": body,
                "sender_type": sender_type,
                "rating_user_id": rating_user_id,
                "rate": rate,
                "quiet_start": quiet_start or None,
                "quiet_end": quiet_end or None,
            }
        )
    except ValidationError as exc:
        raise invalid_from(exc) from exc
    campaign, report = await service.create_from_csv(
        session, actor, fields, importer.chunks_of(file.file), country
    )
    shown = await views.present(session, campaign)
    return CreatedFromCsv(**shown.model_dump(by_alias=True), report=report)


@router.get("/campaigns/{campaign_id}", response_model=schemas.Campaign)
async def get_campaign(session: DB, actor: AdminActor, campaign_id: str) -> schemas.Campaign:
    campaign = await service.access_campaign_by_id(session, actor, campaign_id)
    return await views.present(session, campaign)


@router.patch("/campaigns/{campaign_id}", response_model=schemas.Campaign)
async def update_campaign(
    session: DB, actor: AdminActor, campaign_id: str, data: schemas.CampaignUpdate
) -> schemas.Campaign:
    campaign = await service.update_campaign(session, actor, campaign_id, data)
    return await views.present(session, campaign)


@router.get("/campaigns/{campaign_id}/preview", response_model=schemas.Preview)
async def preview_campaign(
    session: DB,
    actor: AdminActor,
    campaign_id: str,
    price_per_segment: Annotated[float | None, Query(ge=0, le=100)] = None,
) -> schemas.Preview:
    return await views.preview(session, actor, campaign_id, price_per_segment)


@router.get("/campaigns/{campaign_id}/recipients", response_model=Page[schemas.Recipient])
async def list_recipients(
    session: DB,
    actor: AdminActor,
    campaign_id: str,
    status: Annotated[
        str | None,
        Query(pattern="^(pending|skipped|queued|sending|sent|delivered|failed)$"),
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[schemas.Recipient]:
    return await views.list_recipients(
        session, actor, campaign_id, status=status, cursor=cursor, limit=limit
    )


@router.post("/campaigns/{campaign_id}/start", response_model=schemas.Campaign)
async def start_campaign(session: DB, actor: AdminActor, campaign_id: str) -> schemas.Campaign:
    return await views.present(session, await service.start_campaign(session, actor, campaign_id))


@router.post("/campaigns/{campaign_id}/stop", response_model=schemas.Campaign)
async def stop_campaign(session: DB, actor: AdminActor, campaign_id: str) -> schemas.Campaign:
    return await views.present(session, await service.stop_campaign(session, actor, campaign_id))


@router.post("/campaigns/{campaign_id}/restart", response_model=schemas.Campaign)
async def restart_campaign(session: DB, actor: AdminActor, campaign_id: str) -> schemas.Campaign:
    """Run a stopped campaign again: only recipients not yet sent get a message."""
    return await views.present(session, await service.start_campaign(session, actor, campaign_id))


@router.post("/messages/bulk", response_model=schemas.Campaign, status_code=202)
async def send_bulk(session: DB, actor: AdminActor, data: schemas.BulkSend) -> schemas.Campaign:
    """One body to many numbers, with the campaigns' rules: rate, quiet hours none,
    blocklist checked at send time. It runs as a campaign, returned here."""
    campaign = await service.send_bulk(session, actor, data)
    return await views.present(session, campaign)
