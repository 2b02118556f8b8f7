"""Per-number forwarding, the log of forwarding attempts, webhook subscriptions and
their deliveries, and the Mail2SMS sender allow-list (F1-F5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smshub.kit.clock import utcnow
from smshub.kit.db import Base, UTCDateTime
from smshub.kit.ids import new_id


class NumberForwarding(Base):
    """What happens to a number's inbound messages besides the inbox."""

    __tablename__ = "number_forwarding"

    number_id: Mapped[str] = mapped_column(ForeignKey("numbers.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    email_on: Mapped[bool] = mapped_column(Boolean, default=False)
    mobile: Mapped[str | None] = mapped_column(String(16), default=None)
    mobile_on: Mapped[bool] = mapped_column(Boolean, default=False)
    callback_template: Mapped[str | None] = mapped_column(String(2000), default=None)
    callback_on: Mapped[bool] = mapped_column(Boolean, default=False)
    callback_retry: Mapped[bool] = mapped_column(Boolean, default=True)
    retry_interval_s: Mapped[int] = mapped_column(Integer, default=1800)
    max_attempts: Mapped[int] = mapped_column(Integer, default=48)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryAttempt(Base):
    """One try of a forward (URL callback, email, mobile): what was sent and what came back."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_number", "number_id", "id"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    number_id: Mapped[str] = mapped_column(ForeignKey("numbers.id"))
    message_id: Mapped[str] = mapped_column(String(26))
    kind: Mapped[str] = mapped_column(String(10))  # callback | email | mobile
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    target: Mapped[str] = mapped_column(String(2000), default="")
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    response: Mapped[str] = mapped_column(String(500), default="")
    outcome: Mapped[str] = mapped_column(String(10))  # done | retry | failed | skipped
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class WebhookDelivery(Base):
    """One event for one subscription, with its retries (F4's delivery log)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id"))
    event_id: Mapped[str] = mapped_column(String(26))
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    replays: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class MailSender(Base):
    """Mail2SMS allow-list: mail from this address may send SMS from this number."""

    __tablename__ = "mail_senders"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    email: Mapped[str] = mapped_column(String(320))
    number_id: Mapped[str] = mapped_column(ForeignKey("numbers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
