"""Messaging use cases: every change of a message's or conversation's state enters here.

`send_message` (people, the API, click-to-SMS), `send_system_message` (auto-replies),
`receive_message` (every carrier's inbound), `apply_delivery_report` (receipts) and
`dispatch_message` (the send job). Services flush, never commit; realtime events and jobs
leave after the caller's commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth import service as auth_service
from smshub.auth.actor import Actor
from smshub.compliance import keywords
from smshub.compliance import service as compliance
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.errors import Conflict, InvalidInput
from smshub.kit.jobs import RetryPolicy, enqueue
from smshub.kit.outbox import emit, note_job_enqueued
from smshub.messaging import encoding, views
from smshub.messaging import repository as repo
from smshub.messaging.status import can_move
from smshub.models import Conversation, Message, MessageEvent, Number, Tenant
from smshub.numbers import service as numbers_service
from smshub.numbers.rules import e164_problem

SEND_JOB = "message.send"
SEND_POLICY = RetryPolicy(max_attempts=8, backoff="exponential", retry_delay_s=2.0, max_delay_s=300)
PREVIEW = 100


@dataclass(frozen=True)
class Sent:
    message: Message | None  # None when an agent's STOP blocked instead of sending
    conversation: Conversation
    info: encoding.SmsInfo


def _now(clock: Clock | None) -> datetime:
    return (clock or SystemClock()).now()


def check_body(body: str, tenant: Tenant, smart: bool | None) -> encoding.SmsInfo:
    if not body.strip():
        raise InvalidInput("body: must not be empty.", field="body", code="empty_body")
    info = encoding.analyze(body, smart=tenant.smart_encoding if smart is None else smart)
    problem = encoding.check_limits(
        info, max_segments=tenant.max_segments, max_chars=tenant.max_chars
    )
    if problem:
        raise InvalidInput(f"body: {problem}.", field="body", code="too_long")
    return info


def check_destination(to: str) -> None:
    problem = e164_problem(to)
    if problem:
        raise InvalidInput(f"to: {problem}", field="to", code="invalid_number")


async def send_message(
    session: AsyncSession,
    actor: Actor,
    *,
    from_e164: str,
    to_e164: str,
    body: str,
    system_sms: bool,
    smart: bool | None = None,
    client_key: str | None = None,
    clock: Clock | None = None,
) -> Sent:
    """Validate and queue a person's message; its send job commits with it."""
    if client_key:
        earlier = await repo.message_by_client_key(session, actor.tenant_id, client_key)
        if earlier is not None:
            conversation = await session.get(Conversation, earlier.conversation_id)
            assert conversation is not None
            return Sent(earlier, conversation, encoding.analyze(earlier.body))
    number = await numbers_service.usable_number(session, actor, from_e164)
    check_destination(to_e164)
    await auth_service.check_sms_enabled(session, actor, system=system_sms)
    check_number_can_send(number)
    tenant = await auth_service.get_tenant(session, actor.tenant_id)
    info = check_body(body, tenant, smart)
    now = _now(clock)
    conversation = await repo.conversation_for(session, tenant.id, number.id, to_e164, now)
    if keywords.is_agent_block(body):
        await set_blocked(session, actor, conversation.id, True)
        return Sent(None, conversation, info)
    message = await _queue(session, number, conversation, info, actor.user_id, now, client_key)
    await repo.set_state(session, conversation.id, actor.user_id, hidden=False)
    return Sent(message, conversation, info)


def check_number_can_send(number: Number) -> None:
    if number.status != "active":
        raise Conflict(
            f"{number.e164} is still {number.status}; only active numbers send.",
            field="from",
            code="number_not_active",
        )
    if not number.sms_enabled:
        raise Conflict(f"SMS is disabled for {number.e164}.", field="from", code="sms_disabled")


async def send_system_message(
    session: AsyncSession,
    number: Number,
    conversation: Conversation,
    body: str,
    clock: Clock | None = None,
) -> Message:
    """An automatic reply from a number (opt-out confirmations, help): no sender."""
    info = encoding.analyze(body, smart=True)
    return await _queue(session, number, conversation, info, None, _now(clock), None)


async def _queue(
    session: AsyncSession,
    number: Number,
    conversation: Conversation,
    info: encoding.SmsInfo,
    sent_by: str | None,
    now: datetime,
    client_key: str | None,
) -> Message:
    message = Message(
        tenant_id=number.tenant_id,
        conversation_id=conversation.id,
        direction="out",
        from_e164=number.e164,
        to_e164=conversation.remote_e164,
        body=info.text,
        status="queued",
        encoding=info.encoding,
        segments=info.segments,
        sent_by_user_id=sent_by,
        client_key=client_key,
        created_at=now,
    )
    session.add(message)
    await session.flush()
    session.add(MessageEvent(message_id=message.id, status="queued", at=now))
    _touch(conversation, message)
    await enqueue(
        session,
        SEND_JOB,
        {"message_id": message.id},
        policy=SEND_POLICY,
        idempotency_key=f"send:{message.id}:0",
    )
    note_job_enqueued(session)
    await _announce(session, number.id, message)
    return message


def _touch(conversation: Conversation, message: Message) -> None:
    conversation.last_message_at = message.created_at
    conversation.last_preview = message.body[:PREVIEW]
    conversation.last_direction = message.direction


async def _announce(session: AsyncSession, number_id: str, message: Message) -> None:
    users = await numbers_service.users_of_number(session, number_id)
    emit(
        session,
        "message.created",
        message.tenant_id,
        users,
        await views.message_event_data(session, message),
    )


async def retry_message(
    session: AsyncSession, actor: Actor, message_id: str, clock: Clock | None = None
) -> Message:
    """Queue a failed outbound message again (C3's retry button)."""
    message = await views.access_message_by_id(session, actor, message_id)
    if message.direction != "out" or message.status != "failed":
        raise Conflict(
            "Only failed outbound messages can be retried.", field="id", code="not_retryable"
        )
    tries = await _count_events(session, message.id, "queued")
    await _move(session, message, "queued", None, _now(clock))
    message.error = None
    await enqueue(
        session,
        SEND_JOB,
        {"message_id": message.id},
        policy=SEND_POLICY,
        idempotency_key=f"send:{message.id}:{tries}",
    )
    note_job_enqueued(session)
    return message


async def _count_events(session: AsyncSession, message_id: str, status: str) -> int:
    stmt = select(func.count()).where(
        MessageEvent.message_id == message_id, MessageEvent.status == status
    )
    return int((await session.execute(stmt)).scalar_one())


async def _move(
    session: AsyncSession, message: Message, status: str, detail: str | None, now: datetime
) -> bool:
    """Apply one state change: stored with its time and published as `message.status`."""
    if not can_move(message.status, status):
        return False
    message.status = status
    if status == "sent":
        message.sent_at = now
    elif status == "delivered":
        message.delivered_at = now
    elif status == "failed":
        message.failed_at, message.error = now, detail
    session.add(MessageEvent(message_id=message.id, status=status, detail=detail, at=now))
    conversation = await session.get(Conversation, message.conversation_id)
    if conversation is not None:
        users = await numbers_service.users_of_number(session, conversation.number_id)
        emit(
            session,
            "message.status",
            message.tenant_id,
            users,
            {
                "id": message.id,
                "conversation_id": message.conversation_id,
                "status": status,
                "error": message.error,
                "at": now.isoformat(),
            },
        )
    return True


async def mark_sending(session: AsyncSession, message: Message, clock: Clock | None = None) -> bool:
    return await _move(session, message, "sending", None, _now(clock))


async def mark_sent(
    session: AsyncSession,
    message: Message,
    connector_id: str,
    carrier_ref: str,
    clock: Clock | None = None,
) -> None:
    message.connector_id, message.carrier_ref = connector_id, carrier_ref
    await _move(session, message, "sent", None, _now(clock))


async def mark_failed(
    session: AsyncSession, message: Message, reason: str, clock: Clock | None = None
) -> None:
    await _move(session, message, "failed", reason[:500], _now(clock))


async def apply_delivery_report(
    session: AsyncSession,
    *,
    connector_id: str,
    carrier_ref: str,
    status: str,
    error: str | None = None,
    clock: Clock | None = None,
) -> Message | None:
    """A carrier's receipt moves the message it names to `delivered` or `failed`."""
    if status not in ("delivered", "failed"):
        raise InvalidInput("status must be delivered or failed.", field="status")
    message = await repo.message_by_ref(session, connector_id, carrier_ref, "out")
    if message is None:
        return None
    await _move(session, message, status, error, _now(clock))
    return message


async def set_blocked(
    session: AsyncSession, actor: Actor, conversation_id: str, blocked: bool
) -> None:
    """Block or unblock inbound from the conversation's remote number (C7)."""
    conversation = await views.access_conversation_by_id(session, actor, conversation_id)
    conversation.inbound_blocked = blocked
    await session.flush()
    users = await numbers_service.users_of_number(session, conversation.number_id)
    emit(
        session,
        "conversation.updated",
        actor.tenant_id,
        users,
        {"id": conversation.id, "blocked": blocked},
    )


@dataclass(frozen=True)
class Received:
    message_id: str | None
    quarantine_id: str | None
    action: str | None = None


async def receive_message(
    session: AsyncSession,
    *,
    from_e164: str,
    to_e164: str,
    body: str,
    connector_id: str | None = None,
    carrier_ref: str | None = None,
    tenant_scope: str | None = None,
    clock: Clock | None = None,
) -> Received:
    """Route one inbound message: quarantine, block, keywords, conversation, unread.

    `tenant_scope` limits routing to one tenant (the simulator's injections): a number of
    another tenant then counts as unknown."""
    now = _now(clock)
    if connector_id and carrier_ref:
        dup = await repo.message_by_ref(session, connector_id, carrier_ref, "in")
        if dup is not None:
            return Received(dup.id, None)
    number = await numbers_service.find_live_number(session, to_e164)
    if number is not None and tenant_scope and number.tenant_id != tenant_scope:
        number = None
    if number is None or len(from_e164) > 16 or not from_e164:
        reason = "unknown_number" if number is None else "bad_sender"
        owner = number.tenant_id if number else tenant_scope
        qid = await repo.quarantine(
            session,
            tenant_id=owner,
            from_e164=from_e164[:32],
            to_e164=to_e164[:32],
            body=body,
            reason=reason,
            connector_id=connector_id,
            received_at=now,
        )
        return Received(None, qid)
    conversation = await repo.conversation_for(session, number.tenant_id, number.id, from_e164, now)
    if conversation.inbound_blocked:
        qid = await repo.quarantine(
            session,
            tenant_id=number.tenant_id,
            from_e164=from_e164,
            to_e164=to_e164,
            body=body,
            reason="blocked",
            connector_id=connector_id,
            received_at=now,
        )
        return Received(None, qid)
    message = await _store_inbound(
        session, number, conversation, body, connector_id, carrier_ref, now
    )
    action = await _apply_keyword(session, number, conversation, body, now)
    return Received(message.id, None, action)


async def _store_inbound(
    session: AsyncSession,
    number: Number,
    conversation: Conversation,
    body: str,
    connector_id: str | None,
    carrier_ref: str | None,
    now: datetime,
) -> Message:
    info = encoding.analyze(body)
    message = Message(
        tenant_id=number.tenant_id,
        conversation_id=conversation.id,
        direction="in",
        from_e164=conversation.remote_e164,
        to_e164=number.e164,
        body=body,
        status="received",
        encoding=info.encoding,
        segments=max(info.segments, 1),
        connector_id=connector_id,
        carrier_ref=carrier_ref,
        created_at=now,
    )
    session.add(message)
    await session.flush()
    session.add(MessageEvent(message_id=message.id, status="received", at=now))
    _touch(conversation, message)
    users = await numbers_service.users_of_number(session, number.id)
    await repo.bump_unread(session, conversation.id, users)
    await _announce(session, number.id, message)
    await views.announce_unread(session, number.tenant_id, users, conversation.id)
    return message


async def _apply_keyword(
    session: AsyncSession, number: Number, conversation: Conversation, body: str, now: datetime
) -> str | None:
    action = keywords.classify(body)
    if action is None:
        return None
    tenant = await session.get(Tenant, number.tenant_id)
    assert tenant is not None
    if action == "opt_out":
        await compliance.opt_out(session, tenant.id, conversation.remote_e164)
        reply = tenant.opt_out_reply
    elif action == "opt_in":
        await compliance.opt_in(session, tenant.id, conversation.remote_e164)
        reply = tenant.opt_in_reply
    else:
        reply = tenant.help_reply
    if reply.strip():
        await send_system_message(session, number, conversation, reply)
    return action


async def click_to_sms(
    session: AsyncSession,
    actor: Actor,
    *,
    to_e164: str,
    body: str,
    from_e164: str | None,
    system_sms: bool,
    client_key: str | None = None,
) -> tuple[Conversation, Sent | None]:
    """Open or reuse the conversation with `to` from the caller's number, then send."""
    check_destination(to_e164)
    if from_e164 is None:
        mine = await numbers_service.numbers_of(session, actor)
        if not mine:
            raise Conflict("You have no SMS number to send from.", field="from", code="no_number")
        from_e164 = mine[0].e164
    number = await numbers_service.usable_number(session, actor, from_e164)
    if body.strip():
        sent = await send_message(
            session,
            actor,
            from_e164=from_e164,
            to_e164=to_e164,
            body=body,
            system_sms=system_sms,
            client_key=client_key,
        )
        return sent.conversation, sent
    conversation = await repo.conversation_for(
        session, actor.tenant_id, number.id, to_e164, SystemClock().now()
    )
    await repo.set_state(session, conversation.id, actor.user_id, hidden=False)
    return conversation, None
