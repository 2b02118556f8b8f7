"""Reassembly of concatenated inbound messages. Pure: stdlib only.

3GPP TS 23.040 §9.2.3.24.1: parts share (originator, reference, total) and carry their
sequence number; they may arrive in any order, and a network may repeat one. A message
whose parts do not all arrive within `ttl_s` is delivered as far as it got, so a lost
part never hides the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

Key = tuple[str, str, int, int]  # source, destination, reference, total


@dataclass
class _Pending:
    first_at: datetime
    parts: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Complete:
    source: str
    destination: str
    text: str
    parts: int
    missing: int = 0


class Reassembler:
    def __init__(self, ttl_s: float = 300.0):
        self.ttl = timedelta(seconds=ttl_s)
        self._pending: dict[Key, _Pending] = {}
        # Keys completed within `ttl`: a part repeated after its message was whole must
        # not start a new message (which `expire` would later deliver as a fragment).
        self._done: dict[Key, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(
        self,
        source: str,
        destination: str,
        ref: int,
        total: int,
        seq: int,
        text: str,
        now: datetime,
    ) -> Complete | None:
        """Keep one part; the whole message once every part is in. A repeated part, or a
        sequence number outside 1..total, changes nothing."""
        if total <= 1:
            return Complete(source, destination, text, 1)
        key = (source, destination, ref, total)
        done = self._done.get(key)
        if key not in self._pending and done is not None and done.parts.get(seq) == text:
            return None  # a repeat of a part of the message just completed
        pending = self._pending.setdefault(key, _Pending(now))
        if 1 <= seq <= total:
            pending.parts.setdefault(seq, text)
        if len(pending.parts) < total:
            return None
        del self._pending[key]
        self._done[key] = _Pending(now, pending.parts)
        return Complete(source, destination, _join(pending, total), total)

    def expire(self, now: datetime) -> list[Complete]:
        """Messages whose parts stopped coming: what arrived, in order."""
        done: list[Complete] = []
        for key, finished in list(self._done.items()):
            if now - finished.first_at >= self.ttl:
                del self._done[key]
        for key, pending in list(self._pending.items()):
            if now - pending.first_at >= self.ttl:
                del self._pending[key]
                total = key[3]
                text = _join(pending, total)
                done.append(Complete(key[0], key[1], text, total, total - len(pending.parts)))
        return done


def _join(pending: _Pending, total: int) -> str:
    return "".join(pending.parts.get(i, "") for i in range(1, total + 1))
