"""API shapes for predefined lists and CSV import reports (B1)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from smshub.auth.schemas import Name
from smshub.kit.validation import E164Number

FieldValue = Annotated[str, StringConstraints(max_length=500)]
Fields = Annotated[
    dict[Annotated[str, StringConstraints(max_length=40)], FieldValue], Field(max_length=20)
]
Region = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
MAX_REPORTED = 1000


class RecipientList(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    columns: list[str]
    entries: int = 0


class ListCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class ListUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class Entry(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    e164: str
    fields: dict[str, str]


class EntryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    e164: E164Number
    fields: Fields = Field(default_factory=dict)


class EntryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    e164: E164Number | None = None
    fields: Fields | None = None


class RowError(BaseModel):
    row: int
    value: str
    reason: str


class ImportReport(BaseModel):
    imported: int = 0
    blocklisted: int = Field(0, description="Imported rows whose number is blocklisted.")
    rejected: list[RowError] = Field(default_factory=list)
    rejected_total: int = Field(
        0, description="All rejected rows; `rejected` lists the first 1000."
    )
    columns: list[str] = Field(default_factory=list)

    def reject(self, row: int, value: str, reason: str) -> None:
        self.rejected_total += 1
        if len(self.rejected) < MAX_REPORTED:
            self.rejected.append(RowError(row=row, value=value, reason=reason))
