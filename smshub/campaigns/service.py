"""Campaign use cases (B2-B4): create (from a list or a CSV), preview, start, stop, and
the dispatcher's batch step. Services flush, never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth import service as auth_service
from smshub.auth.actor import Actor, check_admin
from smshub.campaigns import planning, schemas, views
from smshub.compliance import service as compliance
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.errors import Conflict, InvalidInput, NotFound
from smshub.kit.ids import new_id
from smshub.kit.jobs import RetryPolicy, enqueue
from smshub.kit.outbox import emit, note_job_enqueued
from smshub.kit.pagination import Page, check_cursor, next_cursor
from smshub.lists import csvimport, importer
from smshub.lists import service as lists_service
from smshub.lists.schemas import ImportReport
from smshub.messaging import service as messaging
from smshub.models import (
    BlocklistEntry,
    Campaign,
    CampaignRecipient,
    CampaignSend,
    Message,
    User,
)
from smshub.numbers import service as numbers_service
from smshub.numbers.rules import sender_id_problem
from smshub.numbers.schemas import NumberInfo

DISPATCH_JOB = "campaign.dispatch"
DISPATCH_POLICY = RetryPolicy(
    max_attempts=1000, backoff="exponential", retry_delay_s=1, max_delay_s=30
)
COPY_PAGE = 2000
SKIP_REASONS = {
    csvimport.INVALID: "invalid",
    csvimport.DUPLICATE: "duplicate",
    csvimport.MISSING: "invalid",
    csvimport.TOO_LONG: "invalid",
}


def _now(clock: Clock | None) -> datetime:
    return (clock or SystemClock()).now()


access_campaign_by_id = views.access_campaign_by_id


async def _check_fields(
    session: AsyncSession, actor: Actor, data: schemas.CampaignFields, columns: Sequence[str]
) -> tuple[NumberInfo, str]:
    if data.sender_type == "sender_id":
        problem = sender_id_problem(data.from_)
        if problem:
            raise InvalidInput(f"from: a sender ID {problem}.", field="from")
    number = await _sender_number(session, actor.tenant_id, data.sender_type, data.from_)
    if number is None and data.sender_type == "sender_id":
        raise InvalidInput(
            f"from: '{data.from_}' is not a registered alphanumeric sender ID of your numbers; "
            "register it on a number (sender_ids) first.",
            field="from",
            code="sender_id_not_registered",
        )
    if number is None:
        raise InvalidInput(f"from: {data.from_} is not one of your numbers.", field="from")
    messaging.check_number_can_send(number)
    check_body_template(data.body, columns)
    messaging.check_body(
        data.body, await auth_service.tenant_policy(session, actor.tenant_id), None
    )
    rating = data.rating_user_id or actor.user_id
    try:
        await auth_service.access_user_by_id(session, actor, rating)
    except NotFound as exc:
        raise InvalidInput("rating_user_id: no such extension.", field="rating_user_id") from exc
    return number, rating


async def _sender_number(
    session: AsyncSession, tenant_id: str, sender_type: str, sender: str
) -> NumberInfo | None:
    """The number a campaign sends through: its `from`, or the number that registered
    its alphanumeric sender ID."""
    if sender_type == "sender_id":
        return await numbers_service.number_for_sender_id(session, tenant_id, sender)
    number = await numbers_service.number_info(session, sender)
    return number if number is not None and number.tenant_id == tenant_id else None


def check_body_template(body: str, columns: Sequence[str]) -> None:
    try:
        names = planning.placeholders(body)
    except ValueError as exc:
        raise InvalidInput(f"body: {exc}.", field="body", code="bad_placeholder") from exc
    unknown = [n for n in names if n not in columns]
    if unknown:
        known = ", ".join(columns) or "none"
        raise InvalidInput(
            f"body: {{{unknown[0]}}} is not a column of the recipients (columns: {known}).",
            field="body",
            code="unknown_placeholder",
        )


def _campaign(actor: Actor, data: schemas.CampaignFields, rating: str, **extra: Any) -> Campaign:
    return Campaign(
        id=new_id(),
        tenant_id=actor.tenant_id,
        name=data.name,
        sender_type=data.sender_type,
        from_e164=data.from_,
        body=data.body,
        rating_user_id=rating,
        rate=data.rate,
        quiet_start=data.quiet_start,
        quiet_end=data.quiet_end,
        status="draft",
        run=0,
        created_by=actor.user_id,
        **extra,
    )


async def create_from_list(
    session: AsyncSession, actor: Actor, data: schemas.CampaignCreate
) -> Campaign:
    """A draft campaign whose recipients are a snapshot of a predefined list."""
    check_admin(actor)
    try:
        source = await lists_service.access_list_by_id(session, actor, data.list_id)
    except NotFound as exc:
        raise InvalidInput("list_id: no such list.", field="list_id") from exc
    _, rating = await _check_fields(session, actor, data, source.columns)
    campaign = _campaign(actor, data, rating, list_id=source.id, columns=list(source.columns))
    session.add(campaign)
    await session.flush()
    after, row = None, 0
    while True:
        entries = await lists_service.entries_after(session, source.id, after, COPY_PAGE)
        rows = []
        for entry in entries:
            row += 1
            rows.append(_recipient(campaign.id, row, entry.e164, entry.e164, entry.fields))
        await _insert_recipients(session, rows)
        if len(entries) < COPY_PAGE:
            break
        after = entries[-1].id
    return campaign


async def create_from_csv(
    session: AsyncSession,
    actor: Actor,
    data: schemas.CampaignFields,
    chunks: Iterable[bytes],
    region: str | None,
) -> tuple[Campaign, ImportReport]:
    """A draft campaign whose recipients come from an uploaded CSV; invalid and duplicate
    rows are kept as skipped recipients, so the counts account for every row."""
    check_admin(actor)
    campaign = _campaign(actor, data, actor.user_id, columns=[])
    session.add(campaign)
    await session.flush()
    report = await import_recipients(session, actor.tenant_id, campaign.id, chunks, region)
    campaign.columns = report.columns
    _, campaign.rating_user_id = await _check_fields(session, actor, data, report.columns)
    await session.flush()
    return campaign, report


async def import_recipients(
    session: AsyncSession,
    tenant_id: str,
    campaign_id: str,
    chunks: Iterable[bytes],
    region: str | None,
) -> ImportReport:
    async def store(batch: list[csvimport.Accepted]) -> tuple[set[str], int]:
        rows = [_recipient(campaign_id, r.row, r.e164, r.e164, r.fields) for r in batch]
        await _insert_recipients(session, rows)
        blocked = await compliance.blocklisted_among(session, tenant_id, [r.e164 for r in batch])
        return set(), len(blocked)

    skipped: list[dict[str, Any]] = []

    async def on_reject(row: csvimport.Rejected) -> None:
        item = _recipient(campaign_id, row.row, None, row.value, {})
        item.update(status="skipped", reason=SKIP_REASONS.get(row.reason, "invalid"))
        skipped.append(item)
        if len(skipped) >= COPY_PAGE:
            await _insert_recipients(session, skipped)
            skipped.clear()

    report = await importer.run_import(chunks, region, store, on_reject)
    await _insert_recipients(session, skipped)
    return report


def _recipient(
    campaign_id: str, row: int, e164: str | None, value: str, fields: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "campaign_id": campaign_id,
        "row": row,
        "e164": e164,
        "value": value[:64],
        "fields": fields,
        "status": "pending",
        "reason": None,
        "defer_until": None,
        "message_id": None,
    }


async def _insert_recipients(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(CampaignRecipient), rows)


async def update_campaign(
    session: AsyncSession, actor: Actor, campaign_id: str, data: schemas.CampaignUpdate
) -> Campaign:
    campaign = await access_campaign_by_id(session, actor, campaign_id)
    if (data.name is not None or data.body is not None) and campaign.status != "draft":
        raise Conflict("Only a draft's name and body can change.", code="not_draft")
    if data.body is not None:
        check_body_template(data.body, campaign.columns)
        campaign.body = data.body
    if data.name is not None:
        campaign.name = data.name
    if data.rate is not None:
        campaign.rate = data.rate
    if data.quiet_start is not None or data.quiet_end is not None:
        campaign.quiet_start, campaign.quiet_end = data.quiet_start, data.quiet_end
    await session.flush()
    return campaign


async def list_campaigns(
    session: AsyncSession, actor: Actor, *, status: str | None, cursor: str | None, limit: int
) -> Page[schemas.Campaign]:
    check_admin(actor)
    stmt = select(Campaign).where(Campaign.tenant_id == actor.tenant_id)
    if status:
        stmt = stmt.where(Campaign.status == status)
    if check_cursor(cursor):
        stmt = stmt.where(Campaign.id < cursor)
    rows = (
        (await session.execute(stmt.order_by(Campaign.id.desc()).limit(limit + 1))).scalars().all()
    )
    items = [await views.present(session, c) for c in rows[:limit]]
    return Page(items=items, next_cursor=next_cursor(rows, limit))


async def start_campaign(
    session: AsyncSession, actor: Actor, campaign_id: str, clock: Clock | None = None
) -> Campaign:
    """draft or stopped -> running. A new run: the dispatcher sends only the recipients
    still pending, so a restart never sends twice."""
    campaign = await access_campaign_by_id(session, actor, campaign_id)
    if campaign.status not in ("draft", "stopped"):
        raise Conflict(f"A {campaign.status} campaign cannot start.", code="bad_status")
    now = _now(clock)
    campaign.status, campaign.run = "running", campaign.run + 1
    campaign.started_at = campaign.started_at or now
    await session.flush()
    await _enqueue_tick(session, campaign, now, 0)
    await _progress(session, campaign)
    return campaign


async def stop_campaign(session: AsyncSession, actor: Actor, campaign_id: str) -> Campaign:
    campaign = await access_campaign_by_id(session, actor, campaign_id)
    if campaign.status != "running":
        raise Conflict(f"A {campaign.status} campaign cannot stop.", code="bad_status")
    campaign.status = "stopped"
    await session.flush()
    await _progress(session, campaign)
    return campaign


async def _enqueue_tick(session: AsyncSession, campaign: Campaign, at: datetime, tick: int) -> None:
    await enqueue(
        session,
        DISPATCH_JOB,
        {"campaign_id": campaign.id, "run": campaign.run, "at": at.isoformat(), "tick": tick},
        policy=DISPATCH_POLICY,
        idempotency_key=f"campaign:{campaign.id}:{campaign.run}:{tick}",
        run_at=at - timedelta(seconds=planning.LEAD_S),
    )
    note_job_enqueued(session)


async def _admins(session: AsyncSession, tenant_id: str) -> list[str]:
    stmt = select(User.id).where(
        User.tenant_id == tenant_id, User.role == "admin", User.deleted_at.is_(None)
    )
    return list((await session.execute(stmt)).scalars())


async def _progress(session: AsyncSession, campaign: Campaign) -> None:
    data = {
        "id": campaign.id,
        "status": campaign.status,
        "counts": (await views.counts(session, campaign.id)).model_dump(),
    }
    emit(
        session,
        "campaign.progress",
        campaign.tenant_id,
        await _admins(session, campaign.tenant_id),
        data,
    )


async def dispatch_tick(
    session: AsyncSession, campaign_id: str, run: int, planned: datetime, tick: int, now: datetime
) -> None:
    """One step of the dispatcher: the next batch of pending recipients in key order,
    never more. Blocklisted numbers are skipped (checked again here: a STOP can arrive
    mid-campaign), recipients inside quiet hours wait, the rest get their message, its
    send job and a `campaign_sends` row in this transaction. Then the next tick is
    queued at the campaign's pace."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != "running" or campaign.run != run:
        return
    number = await _sender_number(
        session, campaign.tenant_id, campaign.sender_type, campaign.from_e164
    )
    if number is None or number.status != "active" or not number.sms_enabled:
        # The sender went away: stop rather than skip everyone; a restart resumes.
        campaign.status = "stopped"
        await session.flush()
        await _progress(session, campaign)
        return
    size = planning.batch_size(campaign.rate)
    batch = await _claim(session, campaign.id, size, now)
    if batch:
        await _send_batch(session, campaign, number, batch, now)
        await _enqueue_tick(
            session, campaign, planning.next_tick(planned, len(batch), campaign.rate, now), tick + 1
        )
        if tick % planning.PROGRESS_EVERY == 0:
            await _progress(session, campaign)
        return
    deferred = await _next_deferred(session, campaign.id)
    if deferred is not None:
        await _enqueue_tick(session, campaign, max(deferred, now), tick + 1)
        return
    campaign.status, campaign.completed_at = "completed", now
    await session.flush()
    await _progress(session, campaign)


async def _claim(
    session: AsyncSession, campaign_id: str, size: int, now: datetime
) -> Sequence[CampaignRecipient]:
    stmt = (
        select(CampaignRecipient)
        .where(
            CampaignRecipient.campaign_id == campaign_id,
            CampaignRecipient.status == "pending",
            or_(CampaignRecipient.defer_until.is_(None), CampaignRecipient.defer_until <= now),
        )
        .order_by(CampaignRecipient.id)
        .limit(size)
    )
    return (await session.execute(stmt)).scalars().all()


async def _next_deferred(session: AsyncSession, campaign_id: str) -> datetime | None:
    stmt = select(func.min(CampaignRecipient.defer_until)).where(
        CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == "pending"
    )
    value: datetime | None = (await session.execute(stmt)).scalar_one_or_none()
    return value


async def _send_batch(
    session: AsyncSession,
    campaign: Campaign,
    number: NumberInfo,
    batch: Sequence[CampaignRecipient],
    now: datetime,
) -> None:
    tenant = await auth_service.tenant_policy(session, campaign.tenant_id)
    sender_id = campaign.from_e164 if campaign.sender_type == "sender_id" else None
    blocked = await compliance.blocklisted_among(
        session, campaign.tenant_id, [r.e164 for r in batch if r.e164]
    )
    items: list[tuple[CampaignRecipient, messaging.Outbound]] = []
    for r in batch:
        if r.e164 is None or r.e164 in blocked:
            r.status, r.reason = "skipped", "invalid" if r.e164 is None else "blocklisted"
            continue
        until = planning.quiet_until(r.e164, now, campaign.quiet_start, campaign.quiet_end)
        if until is not None:
            r.defer_until = until
            continue
        try:
            info = messaging.check_body(planning.render(campaign.body, r.fields), tenant, None)
        except InvalidInput:
            r.status, r.reason = "skipped", "too_long"
            continue
        out = messaging.Outbound(
            number,
            r.e164,
            info,
            campaign.rating_user_id,
            None,
            now,
            sender_id=sender_id,
            campaign=True,
        )
        items.append((r, out))
    if items:
        await messaging.queue_outbound(session, [o for _, o in items])
        sends = [
            {
                "id": new_id(),
                "campaign_id": campaign.id,
                "recipient_id": r.id,
                "message_id": o.message_id,
                "at": now,
            }
            for r, o in items
        ]
        await session.execute(insert(CampaignSend), sends)
        for r, o in items:
            r.status, r.message_id = "queued", o.message_id
    await session.flush()


async def send_bulk(
    session: AsyncSession, actor: Actor, data: schemas.BulkSend, clock: Clock | None = None
) -> Campaign:
    """POST /messages/bulk: a campaign created from the numbers and started at once."""
    check_admin(actor)
    now = _now(clock)
    fields = schemas.CampaignFields(
        name=data.name or f"Bulk {now:%Y-%m-%d %H:%M:%S}",
        from_=data.from_,
        body=data.body,
        rate=data.rate,
    )
    _, rating = await _check_fields(session, actor, fields, [])
    campaign = _campaign(actor, fields, rating, columns=[])
    session.add(campaign)
    await session.flush()
    seen: set[str] = set()
    rows = []
    for row, value in enumerate(data.to, start=1):
        e164 = csvimport.normalize(value, None)
        item = _recipient(campaign.id, row, e164, value, {})
        if e164 is None or e164 in seen:
            item.update(
                e164=None, status="skipped", reason="invalid" if e164 is None else "duplicate"
            )
        else:
            seen.add(e164)
        rows.append(item)
    await _insert_recipients(session, rows)
    return await start_campaign(session, actor, campaign.id, clock)


# Built once: it runs for every send batch (a statement built per call left its bind
# parameters to the cyclic garbage collector).
_OPTED_OUT_SENDS = (
    select(CampaignSend.message_id, CampaignSend.recipient_id)
    .join(Message, Message.id == CampaignSend.message_id)
    .join(
        BlocklistEntry,
        and_(
            BlocklistEntry.tenant_id == Message.tenant_id,
            BlocklistEntry.e164 == Message.to_e164,
        ),
    )
    .where(CampaignSend.message_id.in_(bindparam("ids", expanding=True)))
)


async def hold_opted_out(session: AsyncSession, messages: Sequence[Message]) -> set[str]:
    """Campaign messages still queued whose recipient has since been blocklisted (a STOP
    arrived after the dispatcher queued them): fail them and mark their recipients
    skipped, so nothing more goes out. Returns their ids. One query per send batch."""
    queued = [m for m in messages if m.status in ("queued", "sending")]
    if not queued:
        return set()
    rows = await session.execute(_OPTED_OUT_SENDS, {"ids": [m.id for m in queued]})
    found = {mid: rid for mid, rid in rows.all()}
    for message in queued:
        if message.id in found:
            await messaging.mark_failed(session, message, "the recipient opted out")
            recipient = await session.get(CampaignRecipient, found[message.id])
            if recipient is not None:
                recipient.status, recipient.reason = "skipped", "blocklisted"
    await session.flush()
    return set(found)
