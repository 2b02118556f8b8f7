"""SMS numbers (DIDs) and their assignment to extensions (N3, N4, N6)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from smshub.kit.clock import utcnow
from smshub.kit.db import Base, UTCDateTime
from smshub.kit.ids import new_id


class Number(Base):
    __tablename__ = "numbers"
    __table_args__ = (
        # A live number belongs to one tenant; removed ones keep their history (soft delete).
        Index(
            "uq_numbers_e164_live",
            "e164",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    e164: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")
    sms_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    mms_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    connector_id: Mapped[str | None] = mapped_column(String(26), default=None)
    # K5: used when the primary connector is down or refuses for a retryable reason.
    fallback_connector_id: Mapped[str | None] = mapped_column(String(26), default=None)
    # N6: alphanumeric sender IDs the carrier registered for this number.
    sender_ids: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class NumberAssignment(Base):
    __tablename__ = "number_assignments"

    number_id: Mapped[str] = mapped_column(ForeignKey("numbers.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
