"""Campaign reads (B2, B3): counts, presentation, recipients and the preview.

Counts are computed from the recipients joined to their messages, never stored, so they
always agree with the recipients.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth import service as auth_service
from smshub.auth.actor import Actor, check_admin
from smshub.billing import rating
from smshub.billing import service as billing
from smshub.campaigns import planning, schemas
from smshub.compliance import service as compliance
from smshub.kit.errors import NotFound
from smshub.kit.pagination import Page, check_cursor, next_cursor
from smshub.messaging import encoding
from smshub.models import BlocklistEntry, Campaign, CampaignRecipient, Message

PAGE = 2000


async def access_campaign_by_id(session: AsyncSession, actor: Actor, campaign_id: str) -> Campaign:
    check_admin(actor)
    found = await session.get(Campaign, campaign_id)
    if found is None or found.tenant_id != actor.tenant_id:
        raise NotFound("No such campaign.", field="campaign_id")
    return found


async def counts(session: AsyncSession, campaign_id: str) -> schemas.Counts:
    """Counted from the recipients (and their messages), so always consistent with them."""
    stmt = (
        select(CampaignRecipient.status, CampaignRecipient.reason, Message.status, func.count())
        .select_from(CampaignRecipient)
        .outerjoin(Message, Message.id == CampaignRecipient.message_id)
        .where(CampaignRecipient.campaign_id == campaign_id)
        .group_by(CampaignRecipient.status, CampaignRecipient.reason, Message.status)
    )
    out = schemas.Counts()
    for status, reason, message_status, n in (await session.execute(stmt)).all():
        out.total += n
        if status == "pending":
            key = "pending"
        elif status == "skipped":
            key = (
                f"skipped_{reason}" if f"skipped_{reason}" in out.model_fields else "skipped_other"
            )
        elif message_status in ("sent", "delivered", "failed"):
            key = message_status
        else:
            key = "queued"
        setattr(out, key, getattr(out, key) + n)
    return out


async def present(session: AsyncSession, campaign: Campaign) -> schemas.Campaign:
    return schemas.Campaign(
        id=campaign.id,
        name=campaign.name,
        status=campaign.status,  # type: ignore[arg-type]
        sender_type=campaign.sender_type,
        from_=campaign.from_e164,
        body=campaign.body,
        rating_user_id=campaign.rating_user_id,
        list_id=campaign.list_id,
        columns=campaign.columns,
        rate=campaign.rate,
        quiet_start=campaign.quiet_start,
        quiet_end=campaign.quiet_end,
        counts=await counts(session, campaign.id),
        created_at=campaign.created_at,
        started_at=campaign.started_at,
        completed_at=campaign.completed_at,
    )


async def list_recipients(
    session: AsyncSession,
    actor: Actor,
    campaign_id: str,
    *,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> Page[schemas.Recipient]:
    campaign = await access_campaign_by_id(session, actor, campaign_id)
    stmt = (
        select(CampaignRecipient, Message.status)
        .outerjoin(Message, Message.id == CampaignRecipient.message_id)
        .where(CampaignRecipient.campaign_id == campaign.id)
    )
    if status in ("pending", "skipped"):
        stmt = stmt.where(CampaignRecipient.status == status)
    elif status:
        stmt = stmt.where(Message.status == status)
    if check_cursor(cursor):
        stmt = stmt.where(CampaignRecipient.id > cursor)
    rows = (await session.execute(stmt.order_by(CampaignRecipient.id).limit(limit + 1))).all()
    items = [
        schemas.Recipient(
            id=r.id,
            row=r.row,
            e164=r.e164,
            value=r.value,
            status=(
                m if r.status == "queued" and m in ("sent", "delivered", "failed") else r.status
            ),
            reason=r.reason,
            message_id=r.message_id,
        )
        for r, m in rows[:limit]
    ]
    return Page(items=items, next_cursor=next_cursor([r for r, _ in rows], limit))


async def preview(
    session: AsyncSession, actor: Actor, campaign_id: str, price_per_segment: float | None = None
) -> schemas.Preview:
    """What a start would send: the recipients, the invalid, duplicate and blocklisted
    ones, and the segments of the rendered bodies (worst case and total)."""
    campaign = await access_campaign_by_id(session, actor, campaign_id)
    c = await counts(session, campaign.id)
    blocked_stmt = (
        select(func.count())
        .select_from(CampaignRecipient)
        .join(
            BlocklistEntry,
            and_(
                BlocklistEntry.tenant_id == campaign.tenant_id,
                BlocklistEntry.e164 == CampaignRecipient.e164,
            ),
        )
        .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.status == "pending")
    )
    blocked = int((await session.execute(blocked_stmt)).scalar_one())
    tenant = await auth_service.tenant_policy(session, campaign.tenant_id)
    sendable = c.pending - blocked
    # A price given with the request is flat; otherwise the tenant's rating rules price
    # each recipient by its destination prefix.
    table = (
        None
        if price_per_segment is not None
        else await billing.rate_table(session, campaign.tenant_id)
    )
    seg_max, seg_total, enc, sample = 0, 0, "GSM-7", []
    costed: list[tuple[str, int]] = []
    fixed = (
        None
        if planning.placeholders(campaign.body)
        else encoding.analyze(campaign.body, smart=tenant.smart_encoding)
    )
    if fixed is not None:
        seg_max, seg_total, enc = fixed.segments, fixed.segments * sendable, fixed.encoding
        sample = [campaign.body]
    if fixed is None or table:
        async for e164, fields in _pending_fields(session, campaign):
            info = fixed or encoding.analyze(
                planning.render(campaign.body, fields), smart=tenant.smart_encoding
            )
            if table:
                costed.append((e164, info.segments))
            if fixed is not None:
                continue
            seg_max, seg_total = max(seg_max, info.segments), seg_total + info.segments
            enc = "UCS-2" if info.encoding == "UCS-2" else enc
            if len(sample) < 3:
                sample.append(info.text)
    cost, unpriced = None, 0
    if price_per_segment is not None:
        cost = round(seg_total * price_per_segment, 4)
    elif table:
        estimate = rating.estimate(table, costed)
        cost, unpriced = float(round(estimate.cost, 4)), estimate.unpriced
    return schemas.Preview(
        recipients=c.total,
        sendable=sendable,
        invalid=c.skipped_invalid,
        duplicate=c.skipped_duplicate,
        blocklisted=blocked + c.skipped_blocklisted,
        segments_max=seg_max,
        segments_total=seg_total,
        encoding=enc,
        estimated_cost=cost,
        unpriced=unpriced,
        sample=sample,
    )


async def _pending_fields(
    session: AsyncSession, campaign: Campaign
) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """The number and fields of each pending, not blocklisted recipient, page by page."""
    after = ""
    while True:
        stmt = (
            select(CampaignRecipient.id, CampaignRecipient.e164, CampaignRecipient.fields)
            .where(
                CampaignRecipient.campaign_id == campaign.id,
                CampaignRecipient.status == "pending",
                CampaignRecipient.id > after,
            )
            .order_by(CampaignRecipient.id)
            .limit(PAGE)
        )
        rows = (await session.execute(stmt)).all()
        numbers = [r.e164 for r in rows if r.e164]
        blocked = await compliance.blocklisted_among(session, campaign.tenant_id, numbers)
        for row in rows:
            if row.e164 not in blocked:
                yield row.e164, row.fields
        if len(rows) < PAGE:
            return
        after = rows[-1].id
