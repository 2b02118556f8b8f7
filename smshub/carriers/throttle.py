"""Token buckets for throughput limits. Pure: stdlib only, time passed in.

A bucket holds at most `burst` tokens and gains `rate` tokens a second; sending one
message costs one token. Buckets start empty, so over any window of T seconds no more
than rate * T + burst messages pass, and a new bucket passes at most rate * T.
`grant` serves several buckets at once (a connector's and a sender number's): it hands
out what every bucket can pay and says when the next token is due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bucket:
    rate: float  # tokens a second; 0 means no limit
    tokens: float = 0.0
    at: float = 0.0  # seconds (any epoch) of the last refill

    @property
    def burst(self) -> float:
        # One second of tokens: longer than a worker's poll, so waiting loses nothing.
        return max(1.0, self.rate)

    def refill(self, now: float) -> Bucket:
        if self.rate <= 0:
            return self
        elapsed = max(0.0, now - self.at) if self.at else 0.0
        return Bucket(self.rate, min(self.burst, self.tokens + elapsed * self.rate), now)

    def available(self) -> int:
        return int(self.tokens + 1e-9) if self.rate > 0 else 1 << 30

    def spend(self, n: int) -> Bucket:
        return self if self.rate <= 0 else Bucket(self.rate, self.tokens - n, self.at)

    def wait_for_one(self) -> float:
        """Seconds until a token is there (0 if one is)."""
        if self.rate <= 0 or self.tokens >= 1 - 1e-9:
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass(frozen=True, slots=True)
class Grant:
    granted: int
    buckets: tuple[Bucket, ...]
    retry_in_s: float  # when the rest may try again (0 if all were granted)


def grant(buckets: Sequence[Bucket], wanted: int, now: float) -> Grant:
    """Take up to `wanted` tokens from every bucket alike."""
    filled = [b.refill(now) for b in buckets]
    n = min([wanted, *(b.available() for b in filled)])
    spent = tuple(b.spend(n) for b in filled)
    retry = 0.0 if n == wanted else max((b.wait_for_one() for b in spent), default=0.0)
    return Grant(n, spent, retry)
