"""Conversations, their per-user state, messages and message status history (C1-C7)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smshub.kit.clock import utcnow
from smshub.kit.db import Base, UTCDateTime
from smshub.kit.ids import new_id


class Conversation(Base):
    """One per (our number, their number)."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("number_id", "remote_e164"),
        Index("ix_conversations_activity", "tenant_id", "last_message_at"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    # Indexed by the unique (number_id, remote_e164): a second index on number_id alone
    # led PostgreSQL to scan a number's every conversation to find a few of them.
    number_id: Mapped[str] = mapped_column(ForeignKey("numbers.id"))
    remote_e164: Mapped[str] = mapped_column(String(16))
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_preview: Mapped[str] = mapped_column(String(120), default="")
    last_direction: Mapped[str] = mapped_column(String(3), default="out")
    # C7: an agent's STOP or the Block button drops inbound from this remote number.
    inbound_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnreadTotal(Base):
    """Each user's unread messages over their visible conversations, kept by database
    triggers on `conversation_states` (migration 0007): every inbound message announces
    the total, and summing it took a scan of the user's unread conversations. Derived
    data, so no foreign key: it never blocks deleting a user."""

    __tablename__ = "unread_totals"

    user_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    total: Mapped[int] = mapped_column(Integer, default=0)


class ConversationState(Base):
    """A user's view of a conversation: unread count, deleted-for-me, mute."""

    __tablename__ = "conversation_states"
    # The unread list reads only these columns (migration 0006); totals are in
    # unread_totals (0007).
    __table_args__ = (
        Index("ix_conversation_states_user_visible_unread", "user_id", "hidden", "unread"),
    )

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    unread: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    last_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_tenant", "tenant_id", "id"),
        # carrier_ref first: a receipt batch looks up many refs of one connector, and
        # with connector_id first PostgreSQL often read all of that connector's messages.
        Index("ix_messages_carrier_ref", "carrier_ref", "connector_id"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    direction: Mapped[str] = mapped_column(String(3))
    from_e164: Mapped[str] = mapped_column(String(16))
    to_e164: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    # queued -> sending -> sent -> delivered | failed; inbound: received
    status: Mapped[str] = mapped_column(String(10))
    encoding: Mapped[str] = mapped_column(String(5))
    segments: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    sent_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    connector_id: Mapped[str | None] = mapped_column(String(26), default=None)
    carrier_ref: Mapped[str | None] = mapped_column(String(100), default=None)
    # The alphanumeric sender the recipient sees instead of the number (B2), if any.
    sender_id: Mapped[str | None] = mapped_column(String(11), default=None)
    # A client's Idempotency-Key: a retried POST returns the first message.
    client_key: Mapped[str | None] = mapped_column(String(120), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


Index(
    "uq_messages_client_key",
    Message.tenant_id,
    Message.client_key,
    unique=True,
    sqlite_where=Message.client_key.is_not(None),
    postgresql_where=Message.client_key.is_not(None),
)


class MessageEvent(Base):
    """Every change of a message's state, with its time (C3)."""

    __tablename__ = "message_events"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    detail: Mapped[str | None] = mapped_column(String(500), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
