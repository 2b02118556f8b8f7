"""Sortable unique ids (ULID) for every row.

Made here rather than by `python-ulid` (12 us an id on our machines, and every message
takes several). Same format: 48 bits of milliseconds, then 80 random bits, as 26
Crockford base32 digits; tests check the result with python-ulid. Monotonic within a
process, as the ULID spec describes: ids made in the same millisecond count up from a
random start, so rows written in one batch sort in the order they were made.
"""

from __future__ import annotations

import os
import time

_DIGITS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [a + b for a in _DIGITS for b in _DIGITS]  # 10 bits -> two digits
_RANDOM_MAX = (1 << 80) - 1
_LOW = (1 << 40) - 1
# (ms, its ten digits, last random part, the digits of that part's top 40 bits): an id
# made in the same millisecond only spells out the low 40 bits again.
_last: tuple[int, str, int, str] = (-1, "", 0, "")


def _digits40(n: int) -> str:
    """40 bits as 8 digits."""
    return _PAIRS[n >> 30] + _PAIRS[(n >> 20) & 1023] + _PAIRS[(n >> 10) & 1023] + _PAIRS[n & 1023]


def _time_digits(ms: int) -> str:
    # 48 bits in 10 digits (50 bits, the top two zero).
    return _PAIRS[(ms >> 40) & 1023] + _digits40(ms & _LOW)


def new_id() -> str:
    global _last
    ms = time.time_ns() // 1_000_000
    last_ms, prefix, last_random, high = _last
    if ms <= last_ms and last_random < _RANDOM_MAX:
        ms, rand = last_ms, last_random + 1  # same millisecond (or a clock step back)
        if not rand & _LOW:
            high = _digits40(rand >> 40)  # the low half carried into the high half
    else:
        ms = max(ms, last_ms + 1) if ms <= last_ms else ms
        prefix, rand = _time_digits(ms), int.from_bytes(os.urandom(10), "big") >> 1
        high = _digits40(rand >> 40)
    _last = (ms, prefix, rand, high)
    return prefix + high + _digits40(rand & _LOW)
