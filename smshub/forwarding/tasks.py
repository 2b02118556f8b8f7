"""The forwarding jobs: `forward.email`, `forward.mobile`, `forward.callback` and
`webhook.deliver`.

Email and mobile forwards raise on failure, so the job runner retries them with backoff
(at least once: a crash after the relay accepted a mail can send it twice). URL callbacks
and webhook deliveries never raise for an unhappy peer: each try is logged, and the next
try is a new job due at its own time, so the log and the schedule commit together.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.config import Settings
from smshub.forwarding import hooks, rules, signing
from smshub.forwarding import service as forwarding
from smshub.forwarding.schemas import ForwardingInfo
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.destinations import GuardedTransport
from smshub.kit.errors import SmshubError
from smshub.kit.jobs import JobContext, JobRegistry, PermanentJobError, RetryPolicy, next_delay
from smshub.mail import outbound, render
from smshub.models import Conversation, DeliveryAttempt, Message, Webhook, WebhookDelivery
from smshub.numbers import service as numbers_service

log = logging.getLogger("smshub.forwarding")
# Webhooks: exponential backoff with jitter, for up to a day after the event.
WEBHOOK_POLICY = RetryPolicy(
    max_attempts=1000, backoff="exponential", retry_delay_s=30, max_delay_s=4 * 3600
)
WEBHOOK_WINDOW = timedelta(hours=24)
RESPONSE_CHARS = 500

Transport = Callable[[], httpx.AsyncClient]


@dataclass(frozen=True)
class _Ref:
    """What an attempt row needs of its message, kept across `_release`."""

    tenant_id: str
    id: str


async def _release(session: AsyncSession) -> None:
    """End the read-only part of a job's transaction before waiting on the network, so a
    slow peer never holds a database connection (SQLite has exactly one). Everything
    read so far is expired; the writes that follow commit with the job's `done` mark."""
    await session.rollback()


def _current(delivery: WebhookDelivery, job: JobContext) -> bool:
    """Is this job the delivery's next try (not one made stale by a replay or done)?"""
    if delivery.status != "pending":
        return False
    if "replay" not in job.payload:
        return True
    return (int(job.payload["replay"]), int(job.payload.get("try", 0))) == (
        delivery.replays,
        delivery.attempts,
    )


class ForwardingTasks:
    """The handlers, with their settings, clock and HTTP client factory injected."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        http: Transport | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self._make_client = http or (
            lambda: httpx.AsyncClient(
                timeout=settings.forward_http_timeout_s,
                transport=GuardedTransport(settings.forward_block_private),
            )
        )
        self._client: httpx.AsyncClient | None = None
        self.rand = rand

    def http(self) -> httpx.AsyncClient:
        """One pooled client for every callback and webhook (making one per request
        costs more than the request: a TLS context and a new connection each time)."""
        if self._client is None or self._client.is_closed:
            self._client = self._make_client()
        return self._client

    async def _message(self, session: AsyncSession, job: JobContext) -> Message:
        message = await session.get(Message, str(job.payload.get("message_id")))
        if message is None:
            raise PermanentJobError("the message no longer exists")
        return message

    async def _forwarding_of(
        self, session: AsyncSession, job: JobContext
    ) -> tuple[Message, Conversation, ForwardingInfo] | None:
        """The job's message, its conversation and its number's forwarding, if any."""
        message = await self._message(session, job)
        conversation = await session.get(Conversation, message.conversation_id)
        if conversation is None:
            return None
        info = await hooks.forwarding_info(session, conversation.number_id)
        return None if info is None else (message, conversation, info)

    def _attempt(
        self, message: Message | _Ref, number_id: str, kind: str, **values: object
    ) -> DeliveryAttempt:
        return DeliveryAttempt(
            tenant_id=message.tenant_id,
            number_id=number_id,
            message_id=message.id,
            kind=kind,
            at=self.clock.now(),
            **values,
        )

    async def email(self, session: AsyncSession, job: JobContext) -> None:
        found = await self._forwarding_of(session, job)
        if found is None:
            return
        message, conversation, info = found
        if not info.emails:
            return
        token = signing.reply_token(self.settings.secret_key, conversation.id)
        mail = render.forward_email(
            sender=message.from_e164,
            number=message.to_e164,
            text=message.body,
            at=message.created_at,
            token=token,
            mail_from=self.settings.mail_from,
            to=list(info.emails),
            domain=self.settings.mail_domain,
        )
        ref, number_id = _Ref(message.tenant_id, message.id), conversation.number_id
        await _release(session)
        await outbound.send_mail(self.settings.smtp_relay, mail, self.settings.mail_domain)
        session.add(
            self._attempt(
                ref,
                number_id,
                "email",
                target=", ".join(info.emails),
                outcome="done",
            )
        )

    async def mobile(self, session: AsyncSession, job: JobContext) -> None:
        found = await self._forwarding_of(session, job)
        if found is None:
            return
        message, _, info = found
        if not info.mobile:
            return
        number = await numbers_service.number_info(session, message.to_e164)
        if number is None:
            return
        sender_is_ours = await numbers_service.number_info(session, message.from_e164) is not None
        why_not = rules.should_forward_to_mobile(
            sender=message.from_e164,
            target=info.mobile,
            number=number.e164,
            sender_is_our_number=sender_is_ours,
            text=message.body,
        )
        outcome, error = "done", why_not
        if why_not is None:
            try:
                await forwarding.send_text_from_number(
                    session,
                    number,
                    info.mobile,
                    rules.forward_text(message.from_e164, message.body),
                    self.clock,
                )
            except SmshubError as exc:
                outcome, error = "failed", exc.message
        else:
            outcome = "skipped"
        session.add(
            self._attempt(
                message, number.id, "mobile", target=info.mobile, outcome=outcome, error=error
            )
        )

    async def callback(self, session: AsyncSession, job: JobContext) -> None:
        found = await self._forwarding_of(session, job)
        if found is None:
            return
        message, conversation, info = found
        if not info.callback_template:
            return
        attempt = int(job.payload.get("attempt", 1))
        url = rules.expand_template(
            info.callback_template,
            rules.CallbackValues(
                message.id, message.created_at, message.from_e164, message.to_e164, message.body
            ),
        )
        ref, number_id = _Ref(message.tenant_id, message.id), conversation.number_id
        await _release(session)
        status_code, body, error = None, "", None
        try:
            response = await self.http().get(url)
            status_code, body = response.status_code, response.text[:RESPONSE_CHARS]
            done = rules.callback_done(status_code, body, info.callback_retry)
        except httpx.HTTPError as exc:
            done, error = False, f"{type(exc).__name__}: {exc}"[:500]
        last = not info.callback_retry or attempt >= info.max_attempts
        outcome = "done" if done else ("failed" if last else "retry")
        session.add(
            self._attempt(
                ref,
                number_id,
                "callback",
                attempt=attempt,
                target=url[:2000],
                status_code=status_code,
                response=body,
                outcome=outcome,
                error=error,
            )
        )
        if outcome == "retry":
            await hooks.enqueue_job(
                session,
                hooks.CALLBACK_JOB,
                {"message_id": ref.id, "attempt": attempt + 1},
                f"callback:{ref.id}:{attempt + 1}",
                hooks.ONE_SHOT,
                run_at=self.clock.now() + timedelta(seconds=info.retry_interval_s),
            )

    async def webhook(self, session: AsyncSession, job: JobContext) -> None:
        delivery = await session.get(WebhookDelivery, str(job.payload.get("delivery_id")))
        if delivery is None or not _current(delivery, job):
            return
        hook = await session.get(Webhook, delivery.webhook_id)
        now = self.clock.now()
        if hook is None or hook.deleted_at is not None or not hook.enabled:
            delivery.status, delivery.last_error = (
                "failed",
                "the subscription was removed or disabled",
            )
            delivery.next_attempt_at = None
            return
        body, url, delivery_id = delivery.body.encode(), hook.url, delivery.id
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "smshub-webhooks/1",
            signing.SIGNATURE_HEADER: signing.signature_header(
                hook.secret, int(now.timestamp()), body
            ),
            "X-Smshub-Event": delivery.event_type,
            "X-Smshub-Delivery": delivery.id,
        }
        await _release(session)
        code, error = None, None
        try:
            response = await self.http().post(url, content=body, headers=headers)
            code = response.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        delivery = await session.get(WebhookDelivery, delivery_id)
        if delivery is None or not _current(delivery, job):
            return
        delivery.attempts += 1
        delivery.last_status_code, delivery.last_error = code, error
        if error is None:
            delivery.status, delivery.delivered_at = "delivered", now
            delivery.next_attempt_at = None
            return
        due = now + timedelta(seconds=next_delay(WEBHOOK_POLICY, delivery.attempts, self.rand()))
        if due > delivery.created_at + WEBHOOK_WINDOW:
            delivery.status, delivery.next_attempt_at = "failed", None
            return
        delivery.next_attempt_at = due
        await hooks.enqueue_delivery(session, delivery, run_at=due)


def register(
    registry: JobRegistry,
    settings: Settings,
    clock: Clock | None = None,
    http: Transport | None = None,
    rand: Callable[[], float] = random.random,
) -> ForwardingTasks:
    tasks = ForwardingTasks(settings, clock, http, rand)
    registry.register(hooks.EMAIL_JOB, tasks.email)
    registry.register(hooks.MOBILE_JOB, tasks.mobile)
    registry.register(hooks.CALLBACK_JOB, tasks.callback)
    registry.register(hooks.WEBHOOK_JOB, tasks.webhook)
    return tasks
