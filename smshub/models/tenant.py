"""Tenants, their users (PBX extensions), API keys and web sessions (N1, N2)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from smshub.kit.clock import utcnow
from smshub.kit.db import Base, UTCDateTime
from smshub.kit.ids import new_id

OPT_OUT_REPLY = (
    "You are unsubscribed and will receive no more messages. Reply START to resubscribe."
)
OPT_IN_REPLY = "You are subscribed again. Reply STOP to unsubscribe."
HELP_REPLY = "Reply STOP to unsubscribe. Msg&data rates may apply."


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    # Typed at login ("demo-co"); unique across the system.
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    sms_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Policy: [one number per extension] (N4).
    one_number_per_extension: Mapped[bool] = mapped_column(Boolean, default=True)
    max_segments: Mapped[int] = mapped_column(Integer, default=4)
    max_chars: Mapped[int] = mapped_column(Integer, default=670)
    smart_encoding: Mapped[bool] = mapped_column(Boolean, default=True)
    opt_out_reply: Mapped[str] = mapped_column(String(320), default=OPT_OUT_REPLY)
    opt_in_reply: Mapped[str] = mapped_column(String(320), default=OPT_IN_REPLY)
    help_reply: Mapped[str] = mapped_column(String(320), default=HELP_REPLY)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        Index(
            "uq_users_tenant_extension_live",
            "tenant_id",
            "extension",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    extension: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    role: Mapped[str] = mapped_column(String(10), default="user")
    sms_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    # Message-center preferences (C2, C6).
    notify_sound: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_browser: Mapped[bool] = mapped_column(Boolean, default=True)
    enter_sends: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    # sha256 of the whole key: keys are random 256-bit secrets, so a fast hash is enough.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
