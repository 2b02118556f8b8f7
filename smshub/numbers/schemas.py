"""API shapes for SMS numbers and their assignees (N3, N4, N6)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from smshub.forwarding.schemas import Forwarding, ForwardingSettings
from smshub.kit.validation import E164Number
from smshub.numbers.rules import check_sender_id

Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Status = Literal["provisioning", "active"]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=64)]
SenderId = Annotated[str, StringConstraints(max_length=64), AfterValidator(check_sender_id)]
SenderIds = Annotated[list[SenderId], Field(max_length=20)]


def _distinct(values: list[str] | None) -> list[str] | None:
    if values is not None and len({v.casefold() for v in values}) != len(values):
        raise ValueError("sender_ids must not repeat a sender ID")
    return values


class NumberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    e164: E164Number
    label: Label = ""
    status: Status = "active"
    sms_enabled: bool = True
    mms_enabled: bool = False
    connector_id: Ref | None = None
    fallback_connector_id: Ref | None = None
    sender_ids: Annotated[SenderIds, AfterValidator(_distinct)] = Field(default_factory=list)


class NumberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Label | None = None
    status: Status | None = None
    sms_enabled: bool | None = None
    mms_enabled: bool | None = None
    connector_id: Ref | None = None
    fallback_connector_id: Ref | None = None
    sender_ids: Annotated[SenderIds | None, AfterValidator(_distinct)] = None
    # Replaces the number's forwarding like `PUT /numbers/{id}/forwarding`; null clears it.
    forwarding: Forwarding | None = None


class Assignee(BaseModel):
    id: str
    extension: str
    name: str


class Number(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    e164: str
    label: str
    status: str
    sms_enabled: bool
    mms_enabled: bool
    connector_id: str | None
    fallback_connector_id: str | None = None
    sender_ids: list[str] = Field(default_factory=list)
    created_at: datetime
    assignees: list[Assignee] = Field(default_factory=list)
    group_id: str | None = None
    forwarding: ForwardingSettings | None = None  # admins only; null when none is set


class AssigneesSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_ids: Annotated[list[Ref], Field(max_length=1000)]


class NumberInfo(BaseModel):
    """A snapshot of a number, safe to cache and share between sessions."""

    model_config = ConfigDict(from_attributes=True, frozen=True)
    id: str
    tenant_id: str
    e164: str
    label: str
    status: str
    sms_enabled: bool
    connector_id: str | None
    fallback_connector_id: str | None = None
    sender_ids: tuple[str, ...] = ()
