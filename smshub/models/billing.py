"""Rating rules: the price of a segment by destination prefix (U2)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smshub.kit.clock import utcnow
from smshub.kit.db import Base, UTCDateTime
from smshub.kit.ids import new_id


class RatingRule(Base):
    __tablename__ = "rating_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "prefix"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    # "+" and 1 to 15 digits; the longest prefix of a destination decides its price.
    prefix: Mapped[str] = mapped_column(String(16))
    price_per_segment: Mapped[Decimal] = mapped_column(Numeric(12, 5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
