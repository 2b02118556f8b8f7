"""Webhook signatures and reply-by-email tokens (pure).

Webhooks (API.md, "Webhook events"): the header is
`X-Smshub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
A receiver recomputes the HMAC over the exact bytes it received and compares in
constant time, and rejects old timestamps to stop replays.

Reply tokens bind a reply address to one conversation without a table: the token is the
conversation id plus an HMAC of it under the server's secret key, so it cannot be
guessed or moved to another conversation. Rotating the secret key revokes every token.
"""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-Smshub-Signature"
TOKEN_MAC_CHARS = 24  # 96 bits of HMAC
_TOKEN = re.compile(r"^([0-9a-z]{26})([0-9a-f]{" + str(TOKEN_MAC_CHARS) + r"})$")
_HEADER = re.compile(r"^t=(\d{1,12}),v1=([0-9a-f]{64})$")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance_s: int = 300) -> bool:
    """What a receiver does; used in our tests and documented in the README."""
    match = _HEADER.match(header.strip())
    if match is None:
        return False
    timestamp = int(match.group(1))
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), match.group(2))


def _token_mac(secret: str, conversation_id: str) -> str:
    mac = hmac.new(secret.encode(), b"reply:" + conversation_id.lower().encode(), hashlib.sha256)
    return mac.hexdigest()[:TOKEN_MAC_CHARS]


def reply_token(secret: str, conversation_id: str) -> str:
    """Lower case only: mail systems may fold the case of an address's local part."""
    return conversation_id.lower() + _token_mac(secret, conversation_id)


def conversation_of_token(secret: str, token: str) -> str | None:
    """The conversation id a token was made for, or None for a bad or forged token."""
    match = _TOKEN.match(token.strip().lower())
    if match is None:
        return None
    conversation_id, mac = match.groups()
    if not hmac.compare_digest(_token_mac(secret, conversation_id), mac):
        return None
    return conversation_id.upper()
