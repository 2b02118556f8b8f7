"""A generic "GET provider": one URL template, the answer's body is the message id.

It shows what another HTTP carrier costs: a config model and one small class. It has
no webhooks (its signature check refuses everything).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from smshub.carriers.base import OutboundSms
from smshub.carriers.http.base import HttpCarrier


class TemplateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flavor: Literal["get"]
    # e.g. https://gw.example.com/send?user=u&to={TO}&from={FROM}&text={MESSAGE}
    url_template: Annotated[str, StringConstraints(pattern=r"^https?://", max_length=2000)]
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 15.0
    sender_throughput: Annotated[float, Field(ge=0, le=10_000)] = 0


class TemplateCarrier(HttpCarrier):
    flavor = "get"

    def submit_request(self, sms: OutboundSms) -> httpx.Request:
        url = str(self.config["url_template"])
        sender = sms.sender_id or sms.from_e164
        for key, value in (("FROM", sender), ("TO", sms.to_e164), ("MESSAGE", sms.body)):
            url = url.replace("{" + key + "}", quote(value, safe=""))
        return self.client.build_request("GET", url, timeout=self.config.get("timeout_s", 15.0))

    def parse_submit(self, response: httpx.Response) -> str:
        return response.text.strip()[:100]

    def check_signature(
        self, url: str, params: Sequence[tuple[str, str]], headers: Mapping[str, str]
    ) -> bool:
        return False
