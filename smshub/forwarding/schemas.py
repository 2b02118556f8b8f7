"""API shapes for per-number forwarding, callback attempts, webhooks and Mail2SMS."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from smshub.forwarding.rules import template_problem
from smshub.kit.destinations import literal_refusal
from smshub.kit.validation import E164Number

EVENT_TYPES = ("message.received", "message.status")
EventType = Literal["message.received", "message.status"]
ForwardKind = Literal["email", "mobile", "url_callback"]
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _check_email(value: str) -> str:
    if _CONTROL.search(value) or not _EMAIL.match(value):
        raise ValueError("must be an email address like name@example.com")
    return value.lower()


def _check_template(value: str) -> str:
    problem = template_problem(value)
    if problem is None and (why := literal_refusal(value)):
        problem = f"must not point at {why}"
    if problem:
        raise ValueError(problem)
    return value


def _check_http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value) or _CONTROL.search(value) or " " in value:
        raise ValueError("must be an http:// or https:// URL without spaces")
    if why := literal_refusal(value):
        raise ValueError(f"must not point at {why}")
    return value


Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=320), AfterValidator(_check_email)
]
Template = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_check_template)
]
HttpUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_check_http_url)
]


class UrlCallback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: Template
    retry: bool = True
    retry_interval_s: int = Field(default=1800, ge=1, le=86_400)
    max_attempts: int = Field(default=48, ge=1, le=1000)


class Forwarding(BaseModel):
    """`active` lists which of the configured forwards apply (all configured by default)."""

    model_config = ConfigDict(extra="forbid")
    emails: Annotated[list[Email], Field(max_length=10)] = Field(default_factory=list)
    mobile: E164Number | None = None
    url_callback: UrlCallback | None = None
    active: list[ForwardKind] | None = None


class ForwardingOut(BaseModel):
    number_id: str
    emails: list[str]
    mobile: str | None
    url_callback: UrlCallback | None
    active: list[ForwardKind]
    reply_domain: str


class ForwardingSettings(BaseModel):
    """A number's forwarding inside the number's own shape (`GET /numbers/{id}`)."""

    emails: list[str]
    mobile: str | None
    url_callback: UrlCallback | None
    active: list[ForwardKind]


class DeliveryAttempt(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    message_id: str
    kind: str
    attempt: int
    target: str
    status_code: int | None
    response: str
    outcome: str
    error: str | None
    at: datetime


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: HttpUrl
    events: Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))]
    secret: (
        Annotated[
            str, StringConstraints(min_length=16, max_length=200), AfterValidator(_check_printable)
        ]
        | None
    ) = None


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: HttpUrl | None = None
    events: Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))] | None = (
        None
    )
    enabled: bool | None = None


class Webhook(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime


class WebhookCreated(Webhook):
    """Only the create answer carries the secret."""

    secret: str


class WebhookDelivery(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    replays: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class MailSenderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    number_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class MailSender(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    email: str
    number_id: str
    created_at: datetime


class ForwardingInfo(BaseModel):
    """A cacheable snapshot of a number's forwarding, read on every inbound message."""

    model_config = ConfigDict(frozen=True)
    number_id: str
    emails: tuple[str, ...]
    email_on: bool
    mobile: str | None
    mobile_on: bool
    callback_template: str | None
    callback_on: bool
    callback_retry: bool
    retry_interval_s: int
    max_attempts: int


class WebhookInfo(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    events: tuple[str, ...]
