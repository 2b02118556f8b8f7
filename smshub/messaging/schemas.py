"""API shapes for messages and conversations (API.md: messages, conversations, unread)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Body = Annotated[str, StringConstraints(max_length=5000)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: Phone = Field(alias="from")
    to: Phone
    body: Body
    media_ids: Annotated[list[str], Field(max_length=10)] = Field(default_factory=list)
    smart_encoding: bool | None = None


class MessageAccepted(BaseModel):
    id: str | None
    conversation_id: str
    status: str
    encoding: str
    segments: int


class Sender(BaseModel):
    id: str
    extension: str
    name: str


class MessageOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: str
    conversation_id: str
    direction: Literal["in", "out"]
    from_: str = Field(serialization_alias="from")
    to: str
    body: str
    status: str
    encoding: str
    segments: int
    error: str | None
    sent_by: Sender | None
    sender_id: str | None = Field(None, description="The alphanumeric sender shown, if any.")
    media: list[str] = Field(default_factory=list)
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


class NumberRef(BaseModel):
    id: str
    e164: str
    label: str


class ConversationOut(BaseModel):
    id: str
    number: NumberRef
    remote: str
    contact_name: str | None
    last_message_at: datetime
    preview: str
    last_direction: str
    unread: int
    muted: bool
    blocked: bool
    shared_with: list[Sender] = Field(default_factory=list)


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None = None


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None = None


class UnreadItem(BaseModel):
    id: str
    unread: int


class Unread(BaseModel):
    total: int
    conversations: list[UnreadItem]


class ClickToSms(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    to: Phone
    body: Body = ""
    from_: Phone | None = Field(default=None, alias="from")


class ClickToSmsResult(BaseModel):
    conversation: ConversationOut
    message: MessageAccepted | None


class MuteSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    muted: bool


class QuarantineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)
    id: str
    from_e164: str = Field(serialization_alias="from")
    to_e164: str = Field(serialization_alias="to")
    body: str
    reason: str
    received_at: datetime
