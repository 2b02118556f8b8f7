"""API shapes for carrier connectors (K1, K4)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Kind = Literal["simulator", "smpp", "http"]


class ConnectorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    kind: Kind
    config: dict[str, Any] = Field(default_factory=dict)
    throughput: Annotated[int, Field(ge=0, le=100_000)] = 0
    # Admins of the system may share a connector with every tenant; reserved for later.
    enabled: bool = True


class ConnectorUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    config: dict[str, Any] | None = None
    throughput: Annotated[int, Field(ge=0, le=100_000)] | None = None
    enabled: bool | None = None


class Health(BaseModel):
    status: Literal["bound", "disconnected", "disabled"]
    last_error: str | None = None
    queue_depth: int = 0


class Connector(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    kind: str
    config: dict[str, Any]
    throughput: int
    enabled: bool
    shared: bool = False
    health: Health
    created_at: datetime


class ConnectorInfo(BaseModel):
    """A cacheable snapshot of a connector, for the send pipeline."""

    model_config = ConfigDict(from_attributes=True, frozen=True)
    id: str
    tenant_id: str | None
    kind: str
    config: dict[str, Any]
    throughput: int
    enabled: bool
