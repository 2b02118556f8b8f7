"""API shapes for campaigns (B2-B4) and bulk sends (B6)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from smshub.auth.schemas import Name
from smshub.campaigns import planning

Status = Literal["draft", "running", "stopped", "completed"]


def _hhmm(value: str) -> str:
    planning.check_hhmm(value)
    return value


HHMM = Annotated[str, AfterValidator(_hhmm)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Rate = Annotated[int, Field(ge=1, le=1000, description="Messages per second.")]
Sender = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
MAX_BULK = 10_000


class CampaignFields(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: Name
    sender_type: Literal["number", "sender_id"] = "number"
    from_: Sender = Field(alias="from")
    body: Body
    rating_user_id: str | None = Field(None, max_length=26, description="Who is billed.")
    rate: Rate = 10
    quiet_start: HHMM | None = None
    quiet_end: HHMM | None = None

    @model_validator(mode="after")
    def _quiet_pair(self) -> CampaignFields:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet_start and quiet_end go together: set both or neither")
        return self


class CampaignCreate(CampaignFields):
    list_id: str = Field(max_length=26, description="The predefined list to send to.")


class CampaignUpdate(BaseModel):
    """Only a draft's content changes; rate and quiet hours change at any time."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    body: Body | None = None
    rate: Rate | None = None
    quiet_start: HHMM | None = None
    quiet_end: HHMM | None = None


class Counts(BaseModel):
    total: int = 0
    pending: int = 0
    queued: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    skipped_blocklisted: int = 0
    skipped_invalid: int = 0
    skipped_duplicate: int = 0
    skipped_other: int = 0


class Campaign(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: str
    name: str
    status: Status
    sender_type: str
    from_: str = Field(alias="from")
    body: str
    rating_user_id: str
    list_id: str | None
    columns: list[str]
    rate: int
    quiet_start: str | None
    quiet_end: str | None
    counts: Counts
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class Recipient(BaseModel):
    id: str
    row: int
    e164: str | None
    value: str
    status: str
    reason: str | None
    message_id: str | None


class Preview(BaseModel):
    recipients: int = Field(description="Rows of the campaign, valid or not.")
    sendable: int = Field(description="Pending recipients that are not blocklisted.")
    invalid: int
    duplicate: int
    blocklisted: int
    segments_max: int = Field(description="Worst case over the rendered bodies.")
    segments_total: int
    encoding: str = Field(description="GSM-7, or UCS-2 if any rendered body needs it.")
    estimated_cost: float | None = Field(
        None,
        description="segments_total x price_per_segment when a price is given, else the "
        "segments priced by the tenant's rating rules; null when neither prices anything.",
    )
    unpriced: int = Field(
        0, description="Recipients no rating rule prices: estimated_cost leaves them out."
    )
    sample: list[str] = Field(description="The first rendered bodies.")


class BulkSend(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: Sender = Field(alias="from")
    to: Annotated[
        list[Annotated[str, StringConstraints(max_length=64)]],
        Field(min_length=1, max_length=MAX_BULK),
    ]
    body: Body
    rate: Rate = 10
    name: Name | None = None
