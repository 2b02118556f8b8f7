"""Messaging use cases: every change of a message's or conversation's state enters here.

`send_message` (people, the API, click-to-SMS), `send_system_message` (auto-replies),
`receive_message` (every carrier's inbound), `apply_delivery_report` (receipts) and
`dispatch_message` (the send job). Services flush, never commit; realtime events and jobs
leave after the caller's commit.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth import service as auth_service
from smshub.auth.actor import Actor
from smshub.auth.schemas import TenantOut
from smshub.carriers.base import ThrottledCarrierError
from smshub.compliance import keywords
from smshub.compliance import service as compliance
from smshub.forwarding import hooks as forwarding_hooks
from smshub.kit.bulk import pipeline
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.errors import Conflict, InvalidInput
from smshub.kit.ids import new_id
from smshub.kit.jobs import RetryPolicy, enqueue, enqueue_many, next_delay
from smshub.kit.outbox import emit, note_job_enqueued
from smshub.messaging import encoding, views
from smshub.messaging import repository as repo
from smshub.messaging.moves import Move, move_many
from smshub.models import Conversation, Message, MessageEvent, Tenant
from smshub.numbers import service as numbers_service
from smshub.numbers.rules import e164_problem
from smshub.numbers.schemas import NumberInfo

SEND_JOB = "message.send"
SEND_POLICY = RetryPolicy(max_attempts=8, backoff="exponential", retry_delay_s=2.0, max_delay_s=300)
PREVIEW = 100


@dataclass(frozen=True)
class Sent:
    """What the caller learns: the message (None when an agent's STOP blocked instead)."""

    message_id: str | None
    conversation_id: str
    status: str
    info: encoding.SmsInfo


@dataclass(frozen=True)
class Outbound:
    """A validated outbound message, ready to be written (alone or in a batch)."""

    number: NumberInfo
    to: str
    info: encoding.SmsInfo
    sent_by: str | None
    client_key: str | None
    created_at: datetime
    message_id: str = field(default_factory=new_id)
    # An alphanumeric sender ID registered on `number`, shown to the recipient (B2).
    sender_id: str | None = None
    # A campaign's message: its send checks the blocklist again (a STOP may arrive
    # while it waits in the queue). Other sends skip that query.
    campaign: bool = False


def _now(clock: Clock | None) -> datetime:
    return (clock or SystemClock()).now()


def check_body(body: str, tenant: TenantOut, smart: bool | None) -> encoding.SmsInfo:
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


async def prepare_send(
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
) -> Outbound | Sent:
    """Every check of a person's send (C2): the caller may use the number, the
    destination is E.164, SMS is on at all three levels, the limits hold. Returns the
    message to write, or a final answer (a repeated Idempotency-Key, an agent's STOP)."""
    if client_key:
        earlier = await repo.message_by_client_key(session, actor.tenant_id, client_key)
        if earlier is not None:
            return Sent(
                earlier.id, earlier.conversation_id, earlier.status, encoding.analyze(earlier.body)
            )
    number = await numbers_service.usable_number(session, actor, from_e164)
    check_destination(to_e164)
    await auth_service.check_sms_enabled(session, actor, system=system_sms)
    check_number_can_send(number)
    info = check_body(body, await auth_service.tenant_policy(session, actor.tenant_id), smart)
    now = _now(clock)
    if keywords.is_agent_block(body):
        conversation = await repo.conversation_for(
            session, number.tenant_id, number.id, to_e164, now
        )
        await set_blocked(session, actor, conversation.id, True)
        return Sent(None, conversation.id, "blocked", info)
    return Outbound(number, to_e164, info, actor.user_id, client_key, now)


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
    prepared = await prepare_send(
        session,
        actor,
        from_e164=from_e164,
        to_e164=to_e164,
        body=body,
        system_sms=system_sms,
        smart=smart,
        client_key=client_key,
        clock=clock,
    )
    if isinstance(prepared, Sent):
        return prepared
    return (await queue_outbound(session, [prepared]))[0]


def check_number_can_send(number: NumberInfo) -> None:
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
    number: NumberInfo,
    conversation: Conversation,
    body: str,
    clock: Clock | None = None,
) -> Sent:
    """An automatic reply from a number (opt-out confirmations, help): no sender."""
    info = encoding.analyze(body, smart=True)
    item = Outbound(number, conversation.remote_e164, info, None, None, _now(clock))
    return (await queue_outbound(session, [item]))[0]


async def queue_outbound(session: AsyncSession, items: Sequence[Outbound]) -> list[Sent]:
    """Write queued messages, their history, their send jobs and their conversations'
    activity with a handful of bulk statements, however many there are."""
    conversations = await repo.conversations_for_many(
        session, [(i.number.tenant_id, i.number.id, i.to, i.created_at) for i in items]
    )
    rows = [_message_row(i, conversations[(i.number.id, i.to)]) for i in items]
    async with pipeline(session):
        await repo.insert_messages(session, rows)
        await repo.insert_message_events(
            session,
            [{"message_id": r["id"], "status": "queued", "at": r["created_at"]} for r in rows],
        )
        await enqueue_many(
            session,
            SEND_JOB,
            [
                (_send_payload(r["id"], i.campaign), f"send:{r['id']}:0")
                for i, r in zip(items, rows, strict=True)
            ],
            policy=SEND_POLICY,
        )
        note_job_enqueued(session)
        await repo.touch_conversations(session, rows)
        await repo.unhide_for(
            session,
            {(r["conversation_id"], r["sent_by_user_id"]) for r in rows if r["sent_by_user_id"]},
        )
    for item, row in zip(items, rows, strict=True):
        users = await numbers_service.users_of_number(session, item.number.id)
        emit(
            session,
            "message.created",
            item.number.tenant_id,
            users,
            await views.row_event_data(session, row),
        )
    return [
        Sent(r["id"], r["conversation_id"], "queued", i.info)
        for i, r in zip(items, rows, strict=True)
    ]


def _send_payload(message_id: str, campaign: bool) -> dict[str, Any]:
    # Marks the sends that are NOT a campaign's, so a job without the mark (a retry, or
    # one queued by an older version) is always checked.
    return {"message_id": message_id} if campaign else {"message_id": message_id, "direct": True}


def _message_row(item: Outbound, conversation_id: str) -> dict[str, Any]:
    return {
        "id": item.message_id,
        "tenant_id": item.number.tenant_id,
        "conversation_id": conversation_id,
        "direction": "out",
        "from_e164": item.number.e164,
        "to_e164": item.to,
        "body": item.info.text,
        "status": "queued",
        "encoding": item.info.encoding,
        "segments": item.info.segments,
        "error": None,
        "sent_by_user_id": item.sent_by,
        "connector_id": None,
        "carrier_ref": None,
        "sender_id": item.sender_id,
        "client_key": item.client_key,
        "created_at": item.created_at,
    }


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
    """Apply one state change (see `moves.move_many`)."""
    return (await move_many(session, [Move(message, status, detail)], now))[0]


async def mark_failed(
    session: AsyncSession, message: Message, reason: str, clock: Clock | None = None
) -> None:
    await _move(session, message, "failed", reason[:500], _now(clock))


async def retry_later(
    session: AsyncSession,
    message: Message,
    attempt: int,
    error: Exception,
    clock: Clock | None = None,
) -> None:
    """A carrier said "not now": queue the message again with backoff, or give up.
    Throttling (the carrier asked us to slow down) never gives up: it is not the
    message's fault."""
    throttled = isinstance(error, ThrottledCarrierError)
    if attempt >= SEND_POLICY.max_attempts and not throttled:
        await mark_failed(session, message, f"gave up after {attempt} tries: {error}", clock)
        return
    now = _now(clock)
    await _move(session, message, "queued", str(error)[:500], now)
    delay = next_delay(SEND_POLICY, min(attempt, 6) if throttled else attempt, random.random())
    asked = getattr(error, "retry_after_s", None)
    if asked is not None:
        delay = asked  # the carrier said when: sooner is refused, later is wasted
    await enqueue(
        session,
        SEND_JOB,
        {"message_id": message.id, "try": attempt},
        policy=SEND_POLICY,
        run_at=now + timedelta(seconds=delay),
        idempotency_key=f"send:{message.id}:retry{attempt}",
    )


@dataclass(frozen=True)
class Receipt:
    carrier_ref: str
    status: str  # delivered | failed
    error: str | None = None


async def apply_delivery_reports(
    session: AsyncSession,
    connector_id: str,
    receipts: Sequence[Receipt],
    clock: Clock | None = None,
) -> int:
    """Carrier receipts move the messages they name to `delivered` or `failed`; a
    receipt for a message we do not know is ignored. Returns how many applied."""
    for r in receipts:
        if r.status not in ("delivered", "failed"):
            raise InvalidInput("status must be delivered or failed.", field="status")
    found = await repo.messages_by_refs(session, connector_id, [r.carrier_ref for r in receipts])
    moves = [
        Move(found[r.carrier_ref], r.status, r.error) for r in receipts if r.carrier_ref in found
    ]
    return sum(await move_many(session, moves, _now(clock)))


async def apply_delivery_report(
    session: AsyncSession,
    *,
    connector_id: str,
    carrier_ref: str,
    status: str,
    error: str | None = None,
    clock: Clock | None = None,
) -> bool:
    """One receipt (see `apply_delivery_reports`)."""
    receipt = Receipt(carrier_ref, status, error)
    return await apply_delivery_reports(session, connector_id, [receipt], clock) == 1


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


def bad_sender(from_e164: str) -> bool:
    """An inbound sender that cannot be a phone number: quarantined, not delivered."""
    return not from_e164 or len(from_e164) > 16


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
    number = await numbers_service.number_info(session, to_e164)
    if number is not None and tenant_scope and number.tenant_id != tenant_scope:
        number = None
    if number is None or bad_sender(from_e164):
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
    # Forwards and webhooks commit with the message (F1-F5).
    await forwarding_hooks.on_message_received(session, number.id, message)
    action = await _apply_keyword(session, number, conversation, body, now)
    return Received(message.id, None, action)


async def _store_inbound(
    session: AsyncSession,
    number: NumberInfo,
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
    session: AsyncSession, number: NumberInfo, conversation: Conversation, body: str, now: datetime
) -> str | None:
    action = await compliance.keyword_action(session, number.tenant_id, body)
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
) -> tuple[str, Sent | None]:
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
        return sent.conversation_id, sent
    conversation = await repo.conversation_for(
        session, actor.tenant_id, number.id, to_e164, SystemClock().now()
    )
    await repo.set_state(session, conversation.id, actor.user_id, hidden=False)
    return conversation.id, None
