"""Settings of a simulator connector (K4)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class SimulatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delivery_delay_s: Annotated[float, Field(ge=0, le=3600)] = 1.0
    failure_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
