"""Blocklist (B5) and the quarantine of inbound messages we did not deliver (C7)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smshub.kit.clock import utcnow
from smshub.kit.db import Base, UTCDateTime
from smshub.kit.ids import new_id


class BlocklistEntry(Base):
    __tablename__ = "blocklist"
    __table_args__ = (UniqueConstraint("tenant_id", "e164"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    e164: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(10))  # manual | opt_out
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuarantinedMessage(Base):
    """An inbound message that reached nobody, kept with the reason."""

    __tablename__ = "quarantine"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    # None when no tenant owns the number.
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    from_e164: Mapped[str] = mapped_column(String(32))
    to_e164: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(40))  # unknown_number | blocked | ...
    connector_id: Mapped[str | None] = mapped_column(String(26), default=None)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
