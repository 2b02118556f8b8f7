"""Which forwards apply to an inbound message, and how their content is built (pure).

URL callback templates (API.md, "Legacy URL callback"): `{ID} {TIMESTAMP} {FROM} {TO}
{MESSAGE}` are replaced by the URL-encoded values; any other `{...}` is an error found
when the template is saved, never when a message arrives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

PLACEHOLDERS = ("ID", "TIMESTAMP", "FROM", "TO", "MESSAGE")
_FIELD = re.compile(r"\{([^{}]*)\}")
# A forwarded text starts with this marker; a message that already carries it has been
# forwarded once and is never forwarded again (the second guard against loops).
FORWARD_MARK = "Fwd from "
MAX_FORWARD_CHARS = 600


@dataclass(frozen=True)
class CallbackValues:
    message_id: str
    at: datetime
    from_e164: str
    to_e164: str
    text: str


def template_problem(template: str) -> str | None:
    """Why a URL template cannot be used, or None."""
    parts = urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an http:// or https:// URL"
    if any(c == " " or ord(c) < 32 or ord(c) == 127 for c in template):
        return "must not contain spaces or control characters"
    for name in _FIELD.findall(template):
        if name not in PLACEHOLDERS:
            return f"unknown placeholder {{{name}}}; use " + " ".join(
                f"{{{p}}}" for p in PLACEHOLDERS
            )
    return None


def expand_template(template: str, values: CallbackValues) -> str:
    """The callback URL for one message: each placeholder URL-encoded (every reserved
    character escaped, so a message cannot add query parameters)."""
    table = {
        "ID": values.message_id,
        "TIMESTAMP": str(int(values.at.timestamp())),
        "FROM": values.from_e164,
        "TO": values.to_e164,
        "MESSAGE": values.text,
    }
    return _FIELD.sub(lambda m: quote(table.get(m.group(1), m.group(0)), safe=""), template)


def callback_done(status_code: int, body: str, retry: bool) -> bool:
    """With retry on, only the exact body `ok` is done (surrounding whitespace and a
    trailing newline are tolerated); with retry off, any answer counts."""
    if not retry:
        return True
    return 200 <= status_code < 300 and body.strip() == "ok"


def should_forward_to_mobile(
    *, sender: str, target: str, number: str, sender_is_our_number: bool, text: str
) -> str | None:
    """Why an inbound message must NOT be forwarded to the mobile, or None to forward.

    Loops: two DIDs forwarding to each other would ping-pong forever, so a message whose
    sender is one of our own numbers, or which is itself a forward, is never forwarded."""
    if target == number:
        return "the forward target is the number itself"
    if sender == target:
        return "the sender is the forward target (loop prevention)"
    if sender_is_our_number:
        return "the sender is one of our numbers (loop prevention)"
    if text.startswith(FORWARD_MARK):
        return "the message is already a forward (loop prevention)"
    return None


def forward_text(sender: str, text: str) -> str:
    """The forwarded SMS names the original sender."""
    body = f"{FORWARD_MARK}{sender}: {text}"
    return body if len(body) <= MAX_FORWARD_CHARS else body[: MAX_FORWARD_CHARS - 1] + "…"
