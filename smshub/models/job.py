"""The transactional outbox of jobs (ARCHITECTURE: jobs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from smshub.kit.clock import utcnow
from smshub.kit.db import Base, UTCDateTime
from smshub.kit.ids import new_id


class Job(Base):
    __tablename__ = "jobs"
    # (status, run_at, id) is the claim's order, so a claim reads only what it takes.
    __table_args__ = (Index("ix_jobs_due", "status", "run_at", "id"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # pending -> running -> done | pending (retry) | dead (attempts used up)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    backoff: Mapped[str] = mapped_column(String(12), default="exponential")
    # Base delay for exponential backoff, or the interval for fixed.
    retry_delay_s: Mapped[float] = mapped_column(Float, default=5.0)
    max_delay_s: Mapped[float] = mapped_column(Float, default=3600.0)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    locked_by: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
