"""The message state machine [pure] (C3).

queued -> sending -> sent -> delivered
   |         |        '----> failed
   |         '-------------> failed | delivered (a receipt may overtake the submit's answer)
   '-----------------------> failed
failed --retry--> queued
inbound messages are `received` and never change.
"""

from __future__ import annotations

from typing import Final, Literal

Status = Literal["queued", "sending", "sent", "delivered", "failed", "received"]

TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "queued": frozenset({"sending", "sent", "failed"}),
    "sending": frozenset({"sent", "delivered", "failed", "queued"}),
    "sent": frozenset({"delivered", "failed"}),
    "failed": frozenset({"queued", "delivered"}),
    "delivered": frozenset(),
    "received": frozenset(),
}
FINAL: Final = frozenset({"delivered", "received"})


def can_move(old: str, new: str) -> bool:
    return new in TRANSITIONS.get(old, frozenset())
