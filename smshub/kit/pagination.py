"""Keyset pagination over sortable ids: `{"items": [...], "next_cursor": ...}`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel

from smshub.kit.errors import InvalidInput

T = TypeVar("T")
_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def check_cursor(cursor: str | None) -> str | None:
    if cursor is not None and not _ID.match(cursor):
        raise InvalidInput("cursor must be a value taken from next_cursor.", field="cursor")
    return cursor


def next_cursor(rows: Sequence[object], limit: int) -> str | None:
    """Callers fetch limit+1 rows; a next page exists when the extra row came back."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return str(last.id)  # type: ignore[attr-defined]
