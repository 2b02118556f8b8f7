"""The send job (`message.send`): hand queued messages to their numbers' carriers.

Send jobs run in batches: one transaction loads the batch's messages, submits them per
connector and records `sending` and `sent`, so a busy queue costs a few statements per
batch rather than per message.

Routing (K5): each message goes to its number's primary connector; the messages that
connector refuses for a reason that allows a retry (link down, busy, throttled) go to the
number's fallback connector in the same job. The next message tries the primary first
again, so traffic returns to it as soon as it is back.

Throughput limits: a connector's `throughput` and its `sender_throughput` (per sender
number) are token buckets shared by every process (`carriers.pacing`); a message that
gets no token is queued again for when the next token is due.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.campaigns import service as campaigns_service
from smshub.carriers import pacing
from smshub.carriers import service as carriers_service
from smshub.carriers.base import (
    CarrierConfigError,
    CarrierError,
    OutboundSms,
    PermanentCarrierError,
    SubmitResult,
)
from smshub.carriers.schemas import ConnectorInfo
from smshub.kit.ids import new_id
from smshub.kit.jobs import JobContext, JobRegistry, enqueue
from smshub.messaging import repository as repo
from smshub.messaging import service
from smshub.messaging.moves import Move, move_many
from smshub.models import Message
from smshub.numbers import service as numbers_service

BATCH = 200
STANDBY_REQUEUE_S = 0.2
# How far ahead a throughput limit books tokens for waiting messages.
HORIZON_S = 30.0

Route = tuple[ConnectorInfo, ConnectorInfo | None]


async def dispatch_messages(session: AsyncSession, jobs: list[JobContext]) -> None:
    """Idempotent: a message already past `sending` is left alone, so a re-run after a
    crash never submits twice once the first submit committed. A transient carrier
    error on one message queues that message again with backoff, without undoing the
    others' submits."""
    tries = {str(j.payload.get("message_id")): int(j.payload.get("try", 0)) for j in jobs}
    reserved = {str(j.payload.get("message_id")) for j in jobs if j.payload.get("reserved")}
    direct = {str(j.payload.get("message_id")) for j in jobs if j.payload.get("direct")}
    messages = await repo.messages_by_ids(session, list(tries))
    held = await campaigns_service.hold_opted_out(
        session, [m for m in messages if m.id not in direct]
    )
    routed: dict[str, tuple[ConnectorInfo, list[tuple[Message, ConnectorInfo | None]]]] = {}
    for message in messages:
        if message.status not in ("queued", "sending") or message.id in held:
            continue
        route = await _route(session, message)
        if route is not None:
            connector, fallback = route
            routed.setdefault(connector.id, (connector, []))[1].append((message, fallback))
    for connector, items in routed.values():
        await _submit(session, connector, items, tries, reserved)


async def _route(session: AsyncSession, message: Message) -> Route | None:
    number = await numbers_service.number_info(session, message.from_e164)
    if number is None or number.tenant_id != message.tenant_id:
        await service.mark_failed(session, message, f"{message.from_e164} was removed")
        return None
    try:
        connector = await carriers_service.connector_for(session, number)
    except CarrierConfigError as exc:
        await service.mark_failed(session, message, str(exc))
        return None
    fallback = await carriers_service.fallback_for(session, number)
    return connector, (fallback if fallback and fallback.id != connector.id else None)


async def _submit(
    session: AsyncSession,
    connector: ConnectorInfo,
    items: Sequence[tuple[Message, ConnectorInfo | None]],
    tries: dict[str, int],
    reserved: set[str],
) -> None:
    messages = [m for m, _ in items]
    if not await carriers_service.available(connector):
        # Another process holds this connector's bind: the message goes back to the queue
        # for that process to take, unchanged (no token spent, no try used).
        for message in messages:
            attempt = tries.get(message.id, 0)
            booked = message.id in reserved
            await _later(session, message, attempt, STANDBY_REQUEUE_S, reserved=booked)
        return
    batch = await _pace(session, connector, messages, tries, reserved)
    if not batch:
        return
    fallbacks = {m.id: f for m, f in items}
    results, started = await _send(session, connector, batch)
    spill: dict[str, tuple[ConnectorInfo, list[Message]]] = {}
    done: list[tuple[Message, SubmitResult | CarrierError]] = []
    for message, result in zip(batch, results, strict=True):
        fallback = fallbacks.get(message.id)
        retryable = isinstance(result, CarrierError) and not isinstance(
            result, PermanentCarrierError
        )
        if retryable and fallback is not None:
            spill.setdefault(fallback.id, (fallback, []))[1].append(message)
            continue
        done.append((message, result))
    await _record(session, connector, done, tries, started)
    for fallback, moved in spill.values():
        results, started = await _send(session, fallback, moved)
        await _record(session, fallback, list(zip(moved, results, strict=True)), tries, started)


async def _send(
    session: AsyncSession, connector: ConnectorInfo, batch: Sequence[Message]
) -> tuple[list[SubmitResult | CarrierError], datetime]:
    """Submit a batch; returns the results and when the submit began. The `sending`
    moves are written by `_record`, merged with each message's outcome: this transaction
    commits both or neither, so writing `sending` first, in a statement of its own,
    showed nobody anything."""
    carrier = carriers_service.carrier_for(connector)
    started = datetime.now(UTC)
    sms = [
        OutboundSms(m.id, m.tenant_id, m.from_e164, m.to_e164, m.body, m.segments, m.sender_id)
        for m in batch
    ]
    results = await carrier.submit_many(session, sms)
    carriers_service.count_results(connector.id, results)
    return list(results), started


async def _record(
    session: AsyncSession,
    connector: ConnectorInfo,
    results: Sequence[tuple[Message, SubmitResult | CarrierError]],
    tries: dict[str, int],
    started: datetime,
) -> None:
    """Accepted submits become `sending` (at `started`) and `sent` together, in one bulk
    move; refusals pass through `sending` and then fail or wait for a retry."""
    now = datetime.now(UTC)
    accepted: list[Move] = []
    refused: list[tuple[Message, CarrierError]] = []
    for message, result in results:
        if isinstance(result, CarrierError):
            refused.append((message, result))
        else:
            ref = result.carrier_ref
            accepted.append(Move(message, "sending", at=started))
            accepted.append(Move(message, "sent", connector_id=connector.id, carrier_ref=ref))
    await move_many(session, accepted + [Move(m, "sending", at=started) for m, _ in refused], now)
    for message, error in refused:
        if isinstance(error, PermanentCarrierError):
            await service.mark_failed(session, message, str(error))
        else:
            await service.retry_later(session, message, tries.get(message.id, 0) + 1, error)


async def _pace(
    session: AsyncSession,
    connector: ConnectorInfo,
    batch: list[Message],
    tries: dict[str, int],
    reserved: set[str],
) -> list[Message]:
    """The messages that got a token from every limit; the rest wait for theirs."""
    sender_rate = float(connector.config.get("sender_throughput", 0) or 0)
    if connector.throughput <= 0 and sender_rate <= 0:
        return batch
    by_sender: dict[str, list[Message]] = {}
    for message in batch:
        by_sender.setdefault(message.from_e164, []).append(message)
    passed: list[Message] = []
    for sender, messages in by_sender.items():
        limits = pacing.keys(connector.id, connector.throughput, sender, sender_rate)
        waiting = [m for m in messages if m.id not in reserved]
        passed += [m for m in messages if m.id in reserved]  # their token is booked
        got = await pacing.take(session, limits, len(waiting), time.time(), HORIZON_S)
        passed += waiting[: got.now]
        booked = waiting[got.now : got.now + len(got.later)]
        for message, wait_s in zip(booked, got.later, strict=True):
            await _later(session, message, tries.get(message.id, 0), wait_s, reserved=True)
        for message in waiting[got.now + len(got.later) :]:
            await _later(session, message, tries.get(message.id, 0), got.retry_in_s)
    if connector.throughput <= 0:
        return passed
    waits = pacing.smooth(connector.id, connector.throughput, len(passed), time.time())
    for message, wait_s in zip(passed, waits, strict=True):
        if wait_s > 0:  # it keeps its token, and goes when this process has one
            await _later(session, message, tries.get(message.id, 0), wait_s, reserved=True)
    return [m for m, w in zip(passed, waits, strict=True) if w <= 0]


async def _later(
    session: AsyncSession, message: Message, attempt: int, wait_s: float, reserved: bool = False
) -> None:
    """Queue the message again; `reserved`: its token is booked for that moment."""
    run_at = datetime.now(UTC)
    payload: dict[str, object] = {"message_id": message.id, "try": attempt}
    if reserved:
        payload["reserved"] = True
    await enqueue(
        session,
        service.SEND_JOB,
        payload,
        policy=service.SEND_POLICY,
        run_at=run_at + timedelta(seconds=wait_s),
        idempotency_key=f"send:{message.id}:paced:{new_id()}",
    )


def register(registry: JobRegistry) -> None:
    registry.register_batch(service.SEND_JOB, dispatch_messages, max_batch=BATCH)
