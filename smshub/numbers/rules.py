"""E.164 rules [pure]: parsing and validation with `phonenumbers` (ITU-T E.164)."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

EXAMPLE = "+61400123456"
_MAX_INPUT = 32


# Every send checks its destination, and people write to the same numbers again and
# again; phonenumbers' parse and validation cost more than the rest of the checks.
@lru_cache(maxsize=65536)
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


SENDER_ID_MAX = 11
_SENDER_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .-&+_")


def sender_id_problem(value: str) -> str | None:
    """Why `value` is not an alphanumeric sender ID carriers accept (3GPP TS 23.040
    TP-OA: up to 11 GSM characters; a letter so it is not mistaken for a number)."""
    if not 1 <= len(value) <= SENDER_ID_MAX:
        return f"must be 1 to {SENDER_ID_MAX} characters, for example ACME"
    if value != value.strip():
        return "must not start or end with a space"
    bad = sorted(set(value) - _SENDER_ID_CHARS)
    if bad:
        return f"may hold only letters, digits, spaces and . - & + _ (not {bad[0]!r})"
    if not any(c.isalpha() for c in value):
        return "must contain at least one letter"
    return None


def check_sender_id(value: str) -> str:
    problem = sender_id_problem(value)
    if problem:
        raise ValueError(problem)
    return value
