"""The Twilio-compatible REST carrier (K3): Messages.json with basic auth, the inbound and
status-callback webhooks, X-Twilio-Signature."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Annotated, Final, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints

from smshub.carriers.base import OutboundSms
from smshub.carriers.http.base import HttpCarrier, InboundSms, StatusReport, WebhookInputError
from smshub.carriers.http.signing import check_twilio_signature

Secret = Annotated[str, StringConstraints(min_length=1, max_length=200)]

# Twilio MessageStatus -> our outcome.
STATUSES: Final = {
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "sent": "pending",
    "sending": "pending",
    "queued": "pending",
    "accepted": "pending",
}


class TwilioConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flavor: Literal["twilio"] = "twilio"
    base_url: HttpUrl = HttpUrl("https://api.twilio.com")
    account_sid: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    auth_token: Secret
    # Where the carrier reaches our webhooks (the URL it signs), e.g. https://sms.example.com
    public_url: HttpUrl | None = None
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 15.0
    sender_throughput: Annotated[float, Field(ge=0, le=10_000)] = 0


class TwilioCarrier(HttpCarrier):
    flavor = "twilio"

    def submit_request(self, sms: OutboundSms) -> httpx.Request:
        cfg = self.config
        base = str(cfg["base_url"]).rstrip("/")
        data = {"From": sms.sender_id or sms.from_e164, "To": sms.to_e164, "Body": sms.body}
        if cfg.get("public_url"):
            public = str(cfg["public_url"]).rstrip("/")
            data["StatusCallback"] = f"{public}/api/v1/carriers/http/{self.connector_id}/status"
        return self.client.build_request(
            "POST",
            f"{base}/2010-04-01/Accounts/{cfg['account_sid']}/Messages.json",
            data=data,
            headers={"Authorization": _basic(str(cfg["account_sid"]), str(cfg["auth_token"]))},
            timeout=cfg.get("timeout_s", 15.0),
        )

    def parse_submit(self, response: httpx.Response) -> str:
        return str(response.json()["sid"])

    def check_signature(
        self, url: str, params: Sequence[tuple[str, str]], headers: Mapping[str, str]
    ) -> bool:
        signature = headers.get("x-twilio-signature")
        return check_twilio_signature(url, params, str(self.config["auth_token"]), signature)

    def parse_inbound(self, params: Mapping[str, str]) -> InboundSms:
        return InboundSms(
            from_e164=_required(params, "From"),
            to_e164=_required(params, "To"),
            body=params.get("Body", ""),
            carrier_ref=params.get("MessageSid") or params.get("SmsSid"),
        )

    def parse_status(self, params: Mapping[str, str]) -> StatusReport:
        sid = _required(params, "MessageSid")
        status = _required(params, "MessageStatus").lower()
        if status not in STATUSES:
            raise WebhookInputError("MessageStatus", f"unknown MessageStatus '{status}'")
        code = params.get("ErrorCode")
        error = f"carrier error {code}" if code else (None if status == "delivered" else status)
        return StatusReport(sid, STATUSES[status], error)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise WebhookInputError(name, f"{name} is required")
    return value
