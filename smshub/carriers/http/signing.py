"""X-Twilio-Signature. Pure: stdlib only.

The signature is base64(HMAC-SHA1(auth_token, url + k1 + v1 + k2 + v2 ...)) with the
POST parameters sorted by name (a name repeated in the form contributes each value, in
order), as Twilio documents for webhook security. Compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def twilio_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    data = url + "".join(k + v for k, v in sorted(params, key=lambda kv: kv[0]))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def check_twilio_signature(
    url: str, params: Iterable[tuple[str, str]], auth_token: str, signature: str | None
) -> bool:
    if not signature or not auth_token:
        return False
    expected = twilio_signature(url, list(params), auth_token)
    return hmac.compare_digest(expected.encode(), signature.encode())
