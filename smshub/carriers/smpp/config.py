"""Settings of an SMPP connector (K2)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(max_length=15)]


class SmppConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    port: Annotated[int, Field(ge=1, le=65535)] = 2775
    system_id: Text
    password: Annotated[str, StringConstraints(max_length=8)] = ""
    system_type: Annotated[str, StringConstraints(max_length=12)] = ""
    # "pair": a transmitter bind for submits and a receiver bind for deliver_sm (§2.2)
    bind: Literal["transceiver", "pair"] = "transceiver"
    window: Annotated[int, Field(ge=1, le=1000)] = 10
    enquire_link_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    response_timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    submit_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 60.0
    reconnect_min_s: Annotated[float, Field(gt=0, le=600)] = 1.0
    reconnect_max_s: Annotated[float, Field(gt=0, le=3600)] = 60.0
    throttle_backoff_s: Annotated[float, Field(gt=0, le=600)] = 0.5
    source_ton: Annotated[int, Field(ge=0, le=6)] = 1
    source_npi: Annotated[int, Field(ge=0, le=18)] = 1
    registered_delivery: Annotated[int, Field(ge=0, le=255)] = 1
    use_sar: bool = False
    sender_throughput: Annotated[float, Field(ge=0, le=10_000)] = 0
