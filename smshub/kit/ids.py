"""Sortable unique ids (ULID) for every row."""

from __future__ import annotations

from ulid import ULID


def new_id() -> str:
    return str(ULID())
