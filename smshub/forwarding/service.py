"""Forwarding use cases: per-number settings, the attempt log, webhook subscriptions and
their deliveries, the Mail2SMS allow-list, and `send_text_from_number` (the one way mail
replies, mobile forwards and Mail2SMS send an SMS). Services flush, never commit."""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth import service as auth_service
from smshub.auth.actor import Actor, check_admin
from smshub.compliance import service as compliance
from smshub.forwarding import hooks, schemas
from smshub.forwarding import repository as repo
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from smshub.kit.pagination import Page, check_cursor, next_cursor
from smshub.mail.parse import split_text
from smshub.messaging import encoding
from smshub.messaging import service as messaging
from smshub.models import (
    Conversation,
    MailSender,
    Number,
    NumberForwarding,
    Webhook,
    WebhookDelivery,
)
from smshub.numbers import service as numbers_service
from smshub.numbers.schemas import NumberInfo

MAX_SPLIT = 10  # a reply longer than this many SMS is refused, not sent


# --- per-number settings ---------------------------------------------------------------


def present_forwarding(
    row: NumberForwarding | None, number_id: str, domain: str
) -> schemas.ForwardingOut:
    if row is None:
        return schemas.ForwardingOut(
            number_id=number_id,
            emails=[],
            mobile=None,
            url_callback=None,
            active=[],
            reply_domain=domain,
        )
    callback = None
    if row.callback_template:
        callback = schemas.UrlCallback(
            template=row.callback_template,
            retry=row.callback_retry,
            retry_interval_s=row.retry_interval_s,
            max_attempts=row.max_attempts,
        )
    active: list[schemas.ForwardKind] = []
    if row.email_on:
        active.append("email")
    if row.mobile_on:
        active.append("mobile")
    if row.callback_on:
        active.append("url_callback")
    return schemas.ForwardingOut(
        number_id=number_id,
        emails=list(row.emails),
        mobile=row.mobile,
        url_callback=callback,
        active=active,
        reply_domain=domain,
    )


async def get_forwarding(
    session: AsyncSession, actor: Actor, number_id: str
) -> NumberForwarding | None:
    check_admin(actor)
    number = await numbers_service.access_number_by_id(session, actor, number_id)
    return await repo.forwarding(session, number.id)


async def set_forwarding(
    session: AsyncSession,
    actor: Actor,
    number_id: str,
    data: schemas.Forwarding,
    clock: Clock | None = None,
) -> NumberForwarding:
    """Replace a number's forwarding (`PUT /numbers/{id}/forwarding`)."""
    check_admin(actor)
    number = await numbers_service.access_number_by_id(session, actor, number_id)
    return await apply_forwarding(session, number, data, clock=clock)


async def apply_forwarding(
    session: AsyncSession,
    number: Number,
    data: schemas.Forwarding,
    *,
    prefix: str = "",
    clock: Clock | None = None,
) -> NumberForwarding:
    """Write a number the caller has already checked access to. `active` defaults to
    every configured forward; a forward named in `active` must be configured. `prefix`
    goes before the field names of errors (`forwarding.` from `PATCH /numbers/{id}`)."""
    configured = {
        "email": bool(data.emails),
        "mobile": data.mobile is not None,
        "url_callback": data.url_callback is not None,
    }
    active = (
        set(data.active) if data.active is not None else {k for k, v in configured.items() if v}
    )
    for kind in sorted(active):
        if not configured[kind]:
            field = "emails" if kind == "email" else kind
            raise InvalidInput(
                f"{prefix}active: {kind} is switched on but {prefix}{field} is not set.",
                field=f"{prefix}active",
                code="forward_not_configured",
            )
    if data.mobile is not None and data.mobile == number.e164:
        raise InvalidInput(
            f"{prefix}mobile: must differ from the number itself.",
            field=f"{prefix}mobile",
            code="forward_loop",
        )
    row = await repo.forwarding(session, number.id)
    if row is None:
        row = NumberForwarding(number_id=number.id, tenant_id=number.tenant_id)
        session.add(row)
    callback = data.url_callback
    row.emails = list(dict.fromkeys(data.emails))
    row.email_on = "email" in active
    row.mobile = data.mobile
    row.mobile_on = "mobile" in active
    row.callback_template = callback.template if callback else None
    row.callback_on = "url_callback" in active
    row.callback_retry = callback.retry if callback else True
    row.retry_interval_s = callback.retry_interval_s if callback else 1800
    row.max_attempts = callback.max_attempts if callback else 48
    row.updated_at = (clock or SystemClock()).now()
    await session.flush()
    return row


async def settings_of(
    session: AsyncSession, number_ids: list[str]
) -> dict[str, schemas.ForwardingSettings]:
    """The forwarding of each number that has one, as the number's API shape shows it."""
    rows = await repo.forwardings(session, number_ids)
    out = {}
    for row in rows:
        full = present_forwarding(row, row.number_id, "")
        out[row.number_id] = schemas.ForwardingSettings(
            emails=full.emails,
            mobile=full.mobile,
            url_callback=full.url_callback,
            active=full.active,
        )
    return out


async def list_attempts(
    session: AsyncSession,
    actor: Actor,
    number_id: str,
    *,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> Page[schemas.DeliveryAttempt]:
    """Every forwarding attempt for the number's messages, newest first."""
    check_admin(actor)
    number = await numbers_service.access_number_by_id(session, actor, number_id)
    rows = await repo.attempts(session, number.id, kind, check_cursor(cursor), limit)
    return Page(
        items=[schemas.DeliveryAttempt.model_validate(r) for r in rows[:limit]],
        next_cursor=next_cursor(rows, limit),
    )


# --- sending on behalf of mail and forwards ----------------------------------------------


async def send_text_from_number(
    session: AsyncSession,
    number: NumberInfo,
    to: str,
    text: str,
    clock: Clock | None = None,
) -> list[str]:
    """Queue `text` from one of our numbers, split into as many SMS as the tenant's
    limits need. Checks the number, the destination, the tenant's SMS switch and the
    blocklist (a blocklisted destination gets nothing). Returns the message ids."""
    messaging.check_number_can_send(number)
    messaging.check_destination(to)
    tenant = await auth_service.tenant_policy(session, number.tenant_id)
    if not tenant.sms_enabled:
        raise Forbidden("SMS is disabled for this company.", code="sms_disabled")
    if await compliance.is_blocklisted(session, number.tenant_id, to):
        raise Conflict(f"{to} has opted out.", field="to", code="blocklisted")
    if not text.strip():
        raise InvalidInput("body: must not be empty.", field="body", code="empty_body")

    def fits(piece: str) -> bool:
        info = encoding.analyze(piece, smart=tenant.smart_encoding)
        return (
            encoding.check_limits(
                info, max_segments=tenant.max_segments, max_chars=tenant.max_chars
            )
            is None
        )

    pieces = split_text(text, fits)
    if len(pieces) > MAX_SPLIT:
        raise InvalidInput(
            f"body: would need {len(pieces)} SMS; at most {MAX_SPLIT}.",
            field="body",
            code="too_long",
        )
    now = (clock or SystemClock()).now()
    items = [
        messaging.Outbound(
            number,
            to,
            encoding.analyze(p, smart=tenant.smart_encoding),
            None,
            None,
            now,
        )
        for p in pieces
    ]
    sent = await messaging.queue_outbound(session, items)
    return [s.message_id for s in sent if s.message_id]


# --- webhooks --------------------------------------------------------------------------


async def list_webhooks(session: AsyncSession, actor: Actor) -> list[schemas.Webhook]:
    check_admin(actor)
    rows = await repo.live_webhooks(session, actor.tenant_id)
    return [schemas.Webhook.model_validate(r) for r in rows]


async def create_webhook(
    session: AsyncSession, actor: Actor, data: schemas.WebhookCreate, clock: Clock | None = None
) -> schemas.WebhookCreated:
    """A subscription; without a secret one is generated. The secret is shown only here."""
    check_admin(actor)
    secret = data.secret or "whsec_" + secrets.token_urlsafe(32)
    row = Webhook(
        tenant_id=actor.tenant_id,
        url=data.url,
        events=list(dict.fromkeys(data.events)),
        secret=secret,
        enabled=True,
        created_at=(clock or SystemClock()).now(),
    )
    session.add(row)
    await session.flush()
    return schemas.WebhookCreated(**schemas.Webhook.model_validate(row).model_dump(), secret=secret)


async def access_webhook_by_id(session: AsyncSession, actor: Actor, webhook_id: str) -> Webhook:
    check_admin(actor)
    row = await repo.webhook(session, actor.tenant_id, webhook_id)
    if row is None:
        raise NotFound("No such webhook.", field="id")
    return row


async def update_webhook(
    session: AsyncSession, actor: Actor, webhook_id: str, data: schemas.WebhookUpdate
) -> Webhook:
    row = await access_webhook_by_id(session, actor, webhook_id)
    if data.url is not None:
        row.url = data.url
    if data.events is not None:
        row.events = list(dict.fromkeys(data.events))
    if data.enabled is not None:
        row.enabled = data.enabled
    await session.flush()
    return row


async def delete_webhook(
    session: AsyncSession, actor: Actor, webhook_id: str, clock: Clock | None = None
) -> None:
    """Soft delete: pending deliveries stop, the log stays."""
    row = await access_webhook_by_id(session, actor, webhook_id)
    row.deleted_at = (clock or SystemClock()).now()
    await session.flush()


async def list_deliveries(
    session: AsyncSession, actor: Actor, webhook_id: str, *, cursor: str | None, limit: int
) -> Page[schemas.WebhookDelivery]:
    row = await access_webhook_by_id(session, actor, webhook_id)
    rows = await repo.deliveries(session, row.id, check_cursor(cursor), limit)
    return Page(
        items=[schemas.WebhookDelivery.model_validate(r) for r in rows[:limit]],
        next_cursor=next_cursor(rows, limit),
    )


async def replay_delivery(
    session: AsyncSession,
    actor: Actor,
    webhook_id: str,
    delivery_id: str,
    clock: Clock | None = None,
) -> WebhookDelivery:
    """Send a delivery again now, with a fresh retry schedule (the replay button)."""
    row = await access_webhook_by_id(session, actor, webhook_id)
    delivery = await repo.delivery(session, row.id, delivery_id)
    if delivery is None:
        raise NotFound("No such delivery.", field="delivery_id")
    now = (clock or SystemClock()).now()
    delivery.replays += 1
    delivery.attempts = 0
    delivery.status = "pending"
    delivery.next_attempt_at = now
    delivery.created_at = now  # the 24-hour retry window starts again
    await hooks.enqueue_delivery(session, delivery)
    await session.flush()
    return delivery


# --- Mail2SMS allow-list ---------------------------------------------------------------


async def list_mail_senders(session: AsyncSession, actor: Actor) -> list[schemas.MailSender]:
    check_admin(actor)
    return [
        schemas.MailSender.model_validate(r)
        for r in await repo.mail_senders(session, actor.tenant_id)
    ]


async def add_mail_sender(
    session: AsyncSession, actor: Actor, data: schemas.MailSenderCreate
) -> MailSender:
    check_admin(actor)
    try:
        number = await numbers_service.access_number_by_id(session, actor, data.number_id)
    except NotFound:
        raise InvalidInput("number_id: no such number.", field="number_id", code="unknown_number")
    if await repo.mail_sender(session, actor.tenant_id, data.email):
        raise Conflict(f"{data.email} is already allowed.", field="email", code="sender_taken")
    row = MailSender(tenant_id=actor.tenant_id, email=data.email, number_id=number.id)
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"{data.email} is already allowed.", field="email", code="sender_taken")
    return row


async def remove_mail_sender(session: AsyncSession, actor: Actor, sender_id: str) -> None:
    check_admin(actor)
    for row in await repo.mail_senders(session, actor.tenant_id):
        if row.id == sender_id:
            await session.delete(row)
            await session.flush()
            return
    raise NotFound("No such mail sender.", field="id")


async def mail_sender_number(
    session: AsyncSession, tenant_slug: str, email: str
) -> NumberInfo | None:
    """The number an allow-listed sender's Mail2SMS goes out from, or None."""
    tenant_id = await repo.tenant_id_by_slug(session, tenant_slug)
    if tenant_id is None:
        return None
    sender = await repo.mail_sender(session, tenant_id, email.lower())
    if sender is None:
        return None
    number = await session.get(Number, sender.number_id)
    if number is None or number.deleted_at is not None or number.tenant_id != tenant_id:
        return None
    return NumberInfo.model_validate(number)


async def tenant_admin_actor(session: AsyncSession, tenant_id: str) -> Actor | None:
    """The tenant's longest-standing admin as an actor: whom a Mail2SMS campaign is
    created by and rated to (only an admin can allow-list a mail sender)."""
    user = await repo.first_admin(session, tenant_id)
    if user is None:
        return None
    return Actor(user.id, user.tenant_id, user.role, user.extension, user.name)


async def conversation_number(
    session: AsyncSession, conversation_id: str
) -> tuple[NumberInfo, str] | None:
    """A reply token's conversation: its live number and the remote party."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    number = await session.get(Number, conversation.number_id)
    if number is None or number.deleted_at is not None:
        return None
    return NumberInfo.model_validate(number), conversation.remote_e164
