"""API shapes for tenants, users and the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

Extension = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,10}$", min_length=2, max_length=10)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=320, pattern=r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$"
    ),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=200)]
Role = Literal["admin", "user"]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    extension: Extension
    name: Name
    email: Email | None = None
    role: Role = "user"
    sms_enabled: bool = True
    password: Password | None = None


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    extension: Extension | None = None
    name: Name | None = None
    email: Email | None = None
    role: Role | None = None
    sms_enabled: bool | None = None
    password: Password | None = None


class User(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    extension: str
    name: str
    email: str | None
    role: str
    sms_enabled: bool
    created_at: datetime


class TenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    slug: str
    sms_enabled: bool
    one_number_per_extension: bool
    max_segments: int
    max_chars: int
    smart_encoding: bool
    opt_out_reply: str
    opt_in_reply: str
    help_reply: str


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    sms_enabled: bool | None = None
    one_number_per_extension: bool | None = None
    max_segments: Annotated[int, Field(ge=1, le=10)] | None = None
    max_chars: Annotated[int, Field(ge=1, le=1600)] | None = None
    smart_encoding: bool | None = None
    opt_out_reply: Annotated[str, StringConstraints(max_length=320)] | None = None
    opt_in_reply: Annotated[str, StringConstraints(max_length=320)] | None = None
    help_reply: Annotated[str, StringConstraints(max_length=320)] | None = None


class MeNumber(BaseModel):
    id: str
    e164: str
    label: str
    via: Literal["assignment", "group"]


class Preferences(BaseModel):
    """The message-center settings of one user (C2: Enter sends; C6: sound, notification)."""

    model_config = ConfigDict(from_attributes=True)
    notify_sound: bool
    notify_browser: bool
    enter_sends: bool


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notify_sound: StrictBool | None = None
    notify_browser: StrictBool | None = None
    enter_sends: StrictBool | None = None


class Me(BaseModel):
    user: User
    tenant: TenantOut
    role: str
    numbers: list[MeNumber]
    preferences: Preferences
    # The three-level switch (system, tenant, user) as it applies to the caller.
    sms_enabled: bool
    sms_disabled_reason: str | None = None
