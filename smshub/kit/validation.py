"""Reusable pydantic field types whose error messages name the rule."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from smshub.numbers.rules import check_e164

E164Number = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(check_e164)
]
