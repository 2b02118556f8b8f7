"""E.164 rules [pure]: parsing and validation with `phonenumbers` (ITU-T E.164)."""

from __future__ import annotations

import phonenumbers

EXAMPLE = "+61400123456"
_MAX_INPUT = 32


def e164_problem(value: str) -> str | None:
    """Why `value` is not a valid E.164 number, or None when it is."""
    if not value.startswith("+"):
        return f"must be in E.164 format: '+', country code and number, for example {EXAMPLE}"
    if len(value) > _MAX_INPUT or not value[1:].isdigit():
        return f"must be '+' followed by up to 15 digits, for example {EXAMPLE}"
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return f"is not a phone number; use E.164 format, for example {EXAMPLE}"
    if not phonenumbers.is_valid_number(parsed):
        return f"is not a valid number for its country; use E.164 format, for example {EXAMPLE}"
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if formatted != value:
        return f"must be written exactly in E.164 form: {formatted}"
    return None


def check_e164(value: str) -> str:
    """Return the number if valid; raise ValueError with the rule it broke."""
    problem = e164_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def to_e164(value: str, default_region: str | None = None) -> str | None:
    """Normalise a national or international number to E.164, or None when invalid."""
    try:
        parsed = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def display(value: str) -> str:
    """International format for people: +61 400 123 456."""
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
