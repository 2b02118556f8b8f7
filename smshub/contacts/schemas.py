"""API shapes for contacts (N7)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from smshub.auth.schemas import Email, Name
from smshub.kit.validation import E164Number

Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)]


class ContactNumberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    e164: E164Number
    label: Label = ""


def _coerce_numbers(value: Any) -> Any:
    """Accept plain strings as well as {"e164", "label"} objects."""
    if isinstance(value, list):
        return [{"e164": v} if isinstance(v, str) else v for v in value]
    return value


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    numbers: Annotated[list[ContactNumberIn], Field(max_length=20)] = Field(default_factory=list)
    email: Email | None = None
    # Admins choose; a user's contacts are always personal.
    personal: bool = False

    _numbers = field_validator("numbers", mode="before")(_coerce_numbers)


class ContactUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    numbers: Annotated[list[ContactNumberIn], Field(max_length=20)] | None = None
    email: Email | None = None

    _numbers = field_validator("numbers", mode="before")(_coerce_numbers)


class ContactNumber(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    e164: str
    label: str


class Contact(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    email: str | None
    personal: bool = False
    numbers: list[ContactNumber] = Field(default_factory=list)
    created_at: datetime
