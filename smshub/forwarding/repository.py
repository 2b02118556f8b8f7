"""Queries for forwarding settings, attempts, webhooks, deliveries and mail senders."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.models import (
    DeliveryAttempt,
    MailSender,
    NumberForwarding,
    Tenant,
    User,
    Webhook,
    WebhookDelivery,
)


async def forwarding(session: AsyncSession, number_id: str) -> NumberForwarding | None:
    return await session.get(NumberForwarding, number_id)


async def forwardings(session: AsyncSession, number_ids: list[str]) -> Sequence[NumberForwarding]:
    if not number_ids:
        return []
    stmt = select(NumberForwarding).where(NumberForwarding.number_id.in_(number_ids))
    return (await session.scalars(stmt)).all()


async def attempts(
    session: AsyncSession, number_id: str, kind: str | None, cursor: str | None, limit: int
) -> Sequence[DeliveryAttempt]:
    stmt = select(DeliveryAttempt).where(DeliveryAttempt.number_id == number_id)
    if kind:
        stmt = stmt.where(DeliveryAttempt.kind == kind)
    if cursor:
        stmt = stmt.where(DeliveryAttempt.id < cursor)
    stmt = stmt.order_by(DeliveryAttempt.id.desc()).limit(limit + 1)
    return (await session.execute(stmt)).scalars().all()


async def live_webhooks(session: AsyncSession, tenant_id: str) -> Sequence[Webhook]:
    stmt = select(Webhook).where(Webhook.tenant_id == tenant_id, Webhook.deleted_at.is_(None))
    return (await session.execute(stmt.order_by(Webhook.id))).scalars().all()


async def webhook(session: AsyncSession, tenant_id: str, webhook_id: str) -> Webhook | None:
    stmt = select(Webhook).where(
        Webhook.id == webhook_id, Webhook.tenant_id == tenant_id, Webhook.deleted_at.is_(None)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def deliveries(
    session: AsyncSession, webhook_id: str, cursor: str | None, limit: int
) -> Sequence[WebhookDelivery]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    if cursor:
        stmt = stmt.where(WebhookDelivery.id < cursor)
    stmt = stmt.order_by(WebhookDelivery.id.desc()).limit(limit + 1)
    return (await session.execute(stmt)).scalars().all()


async def delivery(
    session: AsyncSession, webhook_id: str, delivery_id: str
) -> WebhookDelivery | None:
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def mail_senders(session: AsyncSession, tenant_id: str) -> Sequence[MailSender]:
    stmt = select(MailSender).where(MailSender.tenant_id == tenant_id)
    return (await session.execute(stmt.order_by(MailSender.id))).scalars().all()


async def mail_sender(session: AsyncSession, tenant_id: str, email: str) -> MailSender | None:
    stmt = select(MailSender).where(MailSender.tenant_id == tenant_id, MailSender.email == email)
    return (await session.execute(stmt)).scalar_one_or_none()


async def first_admin(session: AsyncSession, tenant_id: str) -> User | None:
    """The tenant's longest-standing live admin."""
    stmt = (
        select(User)
        .where(User.tenant_id == tenant_id, User.role == "admin", User.deleted_at.is_(None))
        .order_by(User.created_at, User.id)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def tenant_id_by_slug(session: AsyncSession, slug: str) -> str | None:
    stmt = select(Tenant.id).where(Tenant.slug == slug)
    return (await session.execute(stmt)).scalar_one_or_none()
