"""Token buckets for throughput limits. Pure: stdlib only, time passed in.

A bucket gains `rate` tokens a second and holds at most `burst` (one second's worth);
sending one message costs one token. Buckets start empty, so over any window of T
seconds at most rate * T + burst messages pass, and a new bucket passes at most rate * T.

`reserve` serves several buckets at once (a connector's and a sender number's). It
hands out the tokens there are now, and books the following ones ahead: the bucket goes
into debt and each booked message learns the moment its token is due, so it waits once,
for exactly its turn, and is sent then without asking again. Booking stops at
`horizon_s`; messages past it simply ask again later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bucket:
    rate: float  # tokens a second; 0 means no limit
    tokens: float = 0.0  # negative: tokens already booked ahead
    at: float = 0.0  # seconds (any epoch) of the last refill

    @property
    def burst(self) -> float:
        return max(1.0, self.rate)

    def refill(self, now: float) -> Bucket:
        # A caller may read the clock, then wait for the row lock while another process
        # refills at a later time: its `now` is then in the past and must neither add
        # tokens nor move `at` back (which would count that interval twice).
        if self.rate <= 0 or (self.at and now <= self.at):
            return self
        elapsed = now - self.at if self.at else 0.0
        return Bucket(self.rate, min(self.burst, self.tokens + elapsed * self.rate), now)

    def due_in(self, i: int) -> float:
        """Seconds until the token of the i-th next message (0-based) is there."""
        if self.rate <= 0:
            return 0.0
        return max(0.0, (i + 1 - self.tokens) / self.rate - 1e-9)

    def spend(self, n: int) -> Bucket:
        return self if self.rate <= 0 else Bucket(self.rate, self.tokens - n, self.at)


@dataclass(frozen=True, slots=True)
class Reservation:
    now: int  # this many may go at once
    later: tuple[float, ...]  # then one each, after these many seconds
    buckets: tuple[Bucket, ...]
    retry_in_s: float  # when the rest (past the horizon) may ask again

    @property
    def granted(self) -> int:
        return self.now


def reserve(
    buckets: Sequence[Bucket], wanted: int, now: float, horizon_s: float = 0.0
) -> Reservation:
    filled = [b.refill(now) for b in buckets]
    waits: list[float] = []
    for i in range(wanted):
        wait = max((b.due_in(i) for b in filled), default=0.0)
        if wait > horizon_s:
            break
        waits.append(wait)
    n_now = sum(1 for w in waits if w <= 0)
    later = tuple(w for w in waits if w > 0)
    spent = tuple(b.spend(len(waits)) for b in filled)
    rest = wanted - len(waits)
    retry = 0.0
    if rest:
        retry = max((b.due_in(0) for b in spent), default=0.0)
        retry = max(retry, min(horizon_s, 1.0))
    return Reservation(n_now, later, spent, retry)


def grant(buckets: Sequence[Bucket], wanted: int, now: float) -> Reservation:
    """Only what is there now (no booking ahead)."""
    return reserve(buckets, wanted, now, 0.0)
