"""Reassembly of concatenated inbound messages [pure]: what to do with each part.

3GPP TS 23.040 §9.2.3.24.1: parts share (originator, reference, total) and carry their
sequence number; they may arrive in any order, and a network may repeat one. The parts
themselves are stored (`parts.py`), so that one acknowledged to the SMSC survives a
restart; this module decides, from the parts stored so far, whether a new part is a
repeat, starts a new message under a reused reference, or completes one. A message whose
parts stop coming is delivered as far as it got (`join` with gaps), so a lost part never
hides the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Complete:
    source: str
    destination: str
    text: str
    parts: int
    missing: int = 0


@dataclass(frozen=True, slots=True)
class Stored:
    seq: int
    text: str
    done: bool  # part of a message already completed (kept to spot repeats)


@dataclass(frozen=True, slots=True)
class Decision:
    repeat: bool = False  # a repeat of a part of the message just completed: ignore it
    reset: bool = False  # the reference is reused: drop the completed message's parts
    store: bool = False  # keep this part
    text: str | None = None  # the whole message, when this part completes it


def on_part(stored: Iterable[Stored], total: int, seq: int, text: str) -> Decision:
    """A repeated part, or a sequence number outside 1..total, adds nothing."""
    pending = {p.seq: p.text for p in stored if not p.done}
    done = {p.seq: p.text for p in stored if p.done} if not pending else {}
    if not pending and seq in done and done[seq] == text:
        return Decision(repeat=True)
    store = 1 <= seq <= total and seq not in pending
    parts = {**pending, seq: text} if store else pending
    whole = join(parts, total) if len(parts) == total else None
    return Decision(reset=bool(done), store=store, text=whole)


def join(parts: Mapping[int, str], total: int) -> str:
    """The parts in order; a missing one leaves a gap."""
    return "".join(parts.get(i, "") for i in range(1, total + 1))
