"""Reusable pydantic field types whose error messages name the rule."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints, ValidationError

from smshub.kit.errors import InvalidInput
from smshub.numbers.rules import check_e164

E164Number = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(check_e164)
]


def invalid_from(exc: ValidationError) -> InvalidInput:
    """The first problem of a pydantic error, as our 422 naming the field."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    message = str(first["msg"]).removeprefix("Value error, ")
    return InvalidInput(f"{field}: {message}" if field else message, field=field)
