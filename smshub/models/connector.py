"""Carrier connectors: per tenant, or system-wide and shared (K1, K4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smshub.kit.clock import utcnow
from smshub.kit.db import Base, UTCDateTime
from smshub.kit.ids import new_id


class Connector(Base):
    __tablename__ = "connectors"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    # None: a system-wide connector shared by every tenant.
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Messages per second; 0 means unlimited.
    throughput: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SimulatorOutbox(Base):
    """What the simulated mobile network received; durable, to prove exactly-once."""

    __tablename__ = "simulator_outbox"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    connector_id: Mapped[str] = mapped_column(ForeignKey("connectors.id"), index=True)
    tenant_id: Mapped[str | None] = mapped_column(String(26), index=True)
    message_id: Mapped[str] = mapped_column(String(26), index=True)
    from_e164: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str | None] = mapped_column(String(11), default=None)
    to_e164: Mapped[str] = mapped_column(String(16), index=True)
    body: Mapped[str] = mapped_column(String(4000))
    segments: Mapped[int] = mapped_column(Integer, default=1)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CarrierPacing(Base):
    """A token bucket shared by every process (one row per connector or sender key), so
    a throughput limit holds however many workers send. See carriers/pacing.py."""

    __tablename__ = "carrier_pacing"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float, default=0.0)
    # Seconds since the epoch of the last refill: a float keeps the arithmetic exact.
    at: Mapped[float] = mapped_column(Float, default=0.0)


class SmppPart(Base):
    """A part of a concatenated inbound SMS, stored before the SMSC gets its
    deliver_sm_resp, so a restart never loses a part it acknowledged. Parts of a
    completed message stay `done` for the reassembly window, so a repeated part is
    recognised instead of starting a new message."""

    __tablename__ = "smpp_parts"
    __table_args__ = (
        UniqueConstraint("connector_id", "source", "destination", "ref", "total", "seq"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    connector_id: Mapped[str] = mapped_column(String(26))
    source: Mapped[str] = mapped_column(String(70))
    destination: Mapped[str] = mapped_column(String(70))
    ref: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
