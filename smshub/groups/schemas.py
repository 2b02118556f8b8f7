"""API shapes for call groups (N5)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    member_ids: Annotated[list[Ref], Field(max_length=1000)] = Field(default_factory=list)
    number_id: Ref | None = None


class GroupUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    member_ids: Annotated[list[Ref], Field(max_length=1000)] | None = None
    number_id: Ref | None = None


class Member(BaseModel):
    id: str
    extension: str
    name: str


class Group(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    number_id: str | None
    number: str | None = None
    members: list[Member] = Field(default_factory=list)
    created_at: datetime
