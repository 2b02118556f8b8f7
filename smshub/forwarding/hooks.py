"""What messaging calls when a message arrives or changes state: the forwarding jobs and
webhook deliveries, written into the caller's transaction (so a crash loses none).

Kept apart from `service` so that messaging can import it without a cycle (forwarding's
service sends SMS through messaging)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.forwarding import repository as repo
from smshub.forwarding.schemas import ForwardingInfo, WebhookInfo
from smshub.kit.cache import cache
from smshub.kit.ids import new_id
from smshub.kit.jobs import RetryPolicy, enqueue
from smshub.kit.outbox import note_job_enqueued
from smshub.models import Message, WebhookDelivery

EMAIL_JOB = "forward.email"
MOBILE_JOB = "forward.mobile"
CALLBACK_JOB = "forward.callback"
WEBHOOK_JOB = "webhook.deliver"
# Email and mobile forwards retry inside the job runner; callbacks and webhooks keep
# their own schedules (each try is a new job) so every attempt is logged.
FORWARD_POLICY = RetryPolicy(max_attempts=8, backoff="exponential", retry_delay_s=30)
ONE_SHOT = RetryPolicy(max_attempts=3, backoff="exponential", retry_delay_s=5)


async def forwarding_info(session: AsyncSession, number_id: str) -> ForwardingInfo | None:
    async def load() -> ForwardingInfo | None:
        row = await repo.forwarding(session, number_id)
        if row is None:
            return None
        return ForwardingInfo(
            number_id=row.number_id,
            emails=tuple(row.emails),
            email_on=row.email_on,
            mobile=row.mobile,
            mobile_on=row.mobile_on,
            callback_template=row.callback_template,
            callback_on=row.callback_on,
            callback_retry=row.callback_retry,
            retry_interval_s=row.retry_interval_s,
            max_attempts=row.max_attempts,
        )

    return await cache.get(("forwarding", number_id), load)


async def webhooks_of(session: AsyncSession, tenant_id: str) -> tuple[WebhookInfo, ...]:
    async def load() -> tuple[WebhookInfo, ...]:
        rows = await repo.live_webhooks(session, tenant_id)
        return tuple(WebhookInfo(id=w.id, events=tuple(w.events)) for w in rows if w.enabled)

    return await cache.get(("webhooks", tenant_id), load)


async def on_message_received(session: AsyncSession, number_id: str, message: Message) -> None:
    """Queue the number's forwards and the tenant's `message.received` webhooks."""
    info = await forwarding_info(session, number_id)
    if info is not None:
        payload = {"message_id": message.id}
        if info.email_on and info.emails:
            await enqueue_job(
                session, EMAIL_JOB, payload, f"fwd-email:{message.id}", FORWARD_POLICY
            )
        if info.mobile_on and info.mobile:
            await enqueue_job(
                session, MOBILE_JOB, payload, f"fwd-mobile:{message.id}", FORWARD_POLICY
            )
        if info.callback_on and info.callback_template:
            await enqueue_job(
                session,
                CALLBACK_JOB,
                {"message_id": message.id, "attempt": 1},
                f"callback:{message.id}:1",
                ONE_SHOT,
            )
    await publish(
        session, message.tenant_id, "message.received", message_data(message), message.created_at
    )


async def on_message_status(
    session: AsyncSession, tenant_id: str, data: dict[str, Any], at: datetime
) -> None:
    await publish(session, tenant_id, "message.status", data, at)


async def publish(
    session: AsyncSession, tenant_id: str, event_type: str, data: dict[str, Any], at: datetime
) -> None:
    """One event to every subscription of the tenant that wants it: a delivery row and
    its job, in the caller's transaction."""
    hooks = [h for h in await webhooks_of(session, tenant_id) if event_type in h.events]
    if not hooks:
        return
    event_id = new_id()
    body = json.dumps(
        {"id": event_id, "type": event_type, "created_at": at.isoformat(), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    for hook in hooks:
        delivery = WebhookDelivery(
            id=new_id(),
            tenant_id=tenant_id,
            webhook_id=hook.id,
            event_id=event_id,
            event_type=event_type,
            body=body,
            status="pending",
            attempts=0,
            replays=0,
            next_attempt_at=at,
            created_at=at,
        )
        session.add(delivery)
        await enqueue_delivery(session, delivery)
    await session.flush()


async def enqueue_delivery(
    session: AsyncSession, delivery: WebhookDelivery, run_at: datetime | None = None
) -> None:
    """The job for the delivery's next try. Each try and each replay has its own key, and
    the job names the try it is for, so a retry scheduled before a replay goes stale."""
    key = f"webhook:{delivery.id}:{delivery.replays}:{delivery.attempts}"
    payload = {"delivery_id": delivery.id, "replay": delivery.replays, "try": delivery.attempts}
    await enqueue_job(session, WEBHOOK_JOB, payload, key, ONE_SHOT, run_at)


async def enqueue_job(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    key: str,
    policy: RetryPolicy = ONE_SHOT,
    run_at: datetime | None = None,
) -> None:
    await enqueue(session, kind, payload, policy=policy, idempotency_key=key, run_at=run_at)
    note_job_enqueued(session)


def message_data(message: Message) -> dict[str, Any]:
    """A message as API.md shows it."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "direction": message.direction,
        "from": message.from_e164,
        "to": message.to_e164,
        "body": message.body,
        "status": message.status,
        "encoding": message.encoding,
        "segments": message.segments,
        "error": message.error,
        "sent_by": None,
        "media": [],
        "created_at": iso(message.created_at),
        "sent_at": iso(message.sent_at),
        "delivered_at": iso(message.delivered_at),
    }
