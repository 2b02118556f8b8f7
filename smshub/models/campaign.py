"""Predefined lists (B1), campaigns and their recipients (B2-B4), tenant keywords (B5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smshub.kit.clock import utcnow
from smshub.kit.db import Base, UTCDateTime
from smshub.kit.ids import new_id


class RecipientList(Base):
    __tablename__ = "recipient_lists"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The extra CSV columns, in file order: the placeholders a campaign body may use.
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ListEntry(Base):
    __tablename__ = "list_entries"
    __table_args__ = (UniqueConstraint("list_id", "e164"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    list_id: Mapped[str] = mapped_column(ForeignKey("recipient_lists.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(16))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_tenant_status", "tenant_id", "status"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(200))
    sender_type: Mapped[str] = mapped_column(String(10))  # number | sender_id
    from_e164: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    rating_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    list_id: Mapped[str | None] = mapped_column(String(26), default=None)
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    rate: Mapped[int] = mapped_column(Integer, default=10)  # messages per second
    quiet_start: Mapped[str | None] = mapped_column(String(5), default=None)  # "21:00"
    quiet_end: Mapped[str | None] = mapped_column(String(5), default=None)  # "08:00"
    # draft -> running <-> stopped -> completed
    status: Mapped[str] = mapped_column(String(10), default="draft")
    # Bumped on every start: a dispatch job of an older run finds a newer run and ends.
    run: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class CampaignRecipient(Base):
    """One row of the campaign's recipients, in import order (the id sorts by it).

    status: pending | queued (its message exists; the message carries sent/delivered/
    failed) | skipped (with `reason`: invalid, duplicate, blocklisted)."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (Index("ix_campaign_recipients_claim", "campaign_id", "status", "id"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    row: Mapped[int] = mapped_column(Integer)
    e164: Mapped[str | None] = mapped_column(String(16), default=None)
    value: Mapped[str] = mapped_column(String(64), default="")
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str | None] = mapped_column(String(20), default=None)
    defer_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    message_id: Mapped[str | None] = mapped_column(String(26), default=None)


class CampaignSend(Base):
    """Exactly one message per recipient, as a constraint: the row is written in the same
    transaction as the message and its send job, so a re-run batch cannot insert twice."""

    __tablename__ = "campaign_sends"
    __table_args__ = (UniqueConstraint("campaign_id", "recipient_id"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    recipient_id: Mapped[str] = mapped_column(
        ForeignKey("campaign_recipients.id", ondelete="CASCADE")
    )
    message_id: Mapped[str] = mapped_column(String(26), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ComplianceKeyword(Base):
    """A tenant's own keyword (B5), on top of the built-in STOP/START/HELP words."""

    __tablename__ = "compliance_keywords"
    __table_args__ = (UniqueConstraint("tenant_id", "word"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    word: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(10))  # opt_out | opt_in | help
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
