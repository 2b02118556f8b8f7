"""Form input for the pages: read fields, and turn validation errors into inline messages.

Errors are a dict from a form field name to one message; messages that the services or
the schemas word are shown unchanged, prefixed by the field's label when they are a
predicate ("must be in E.164 format ...").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from smshub.kit.errors import SmshubError

FORM_ERROR = "__form__"
PATTERN_HINTS = {
    "extension": "must be 2 to 10 digits, for example 101",
    "email": "must be an email address like name@example.com",
}

_TEXT_RULES = frozenset({"string_too_short", "string_too_long", "string_pattern_mismatch"})

Errors = dict[str, str]


async def read_form(request: Request) -> FormData:
    return await request.form()


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]


def checked(form: FormData, name: str) -> bool:
    return name in form


def optional(value: str) -> str | None:
    value = value.strip()
    return value or None


def _predicate(err: Mapping[str, Any], field: str) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    given = err.get("input")
    hint = PATTERN_HINTS.get(field.rsplit(".", 1)[-1])
    if kind == "missing":
        return "is required"
    if kind in _TEXT_RULES and isinstance(given, str) and not given.strip():
        return "is required"
    if kind in _TEXT_RULES and hint:
        return hint
    if kind == "string_too_short":
        return f"must be at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return "has the wrong format"
    if kind == "value_error":
        return str(ctx.get("error") or err.get("msg", "is invalid")).removeprefix("Value error, ")
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind == "too_long":
        return f"has too many entries (at most {ctx.get('max_length')})"
    return str(err.get("msg", "is invalid"))


def validation_errors(
    exc: ValidationError, labels: Mapping[str, str], rename: Mapping[str, str] | None = None
) -> Errors:
    """One message per form field, in the order of the schema's fields."""
    errors: Errors = {}
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or FORM_ERROR
        field = (rename or {}).get(field, field)
        if field in errors:
            continue
        label = labels.get(field) or labels.get(field.rsplit(".", 1)[-1]) or "This field"
        errors[field] = f"{label} {_predicate(err, field)}"
    return errors


def service_error(exc: SmshubError, fields: Mapping[str, str]) -> Errors:
    """A use case's error, on the form field it names (`fields` maps the service's field
    names to the form's), or on the form as a whole."""
    return {fields.get(exc.field or "", FORM_ERROR): exc.message}
