"""Opt-out, opt-in and help keywords on inbound messages [pure] (B5).

Only a message that is the keyword alone counts, in any letter case, ignoring surrounding
white space and trailing punctuation (so "Stop." and " stop " count, "stop it" does not).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

Action = Literal["opt_out", "opt_in", "help"]

OPT_OUT: Final = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)
OPT_IN: Final = frozenset({"START", "UNSTOP", "YES"})
HELP: Final = frozenset({"HELP", "INFO"})


def normalize(body: str) -> str:
    return body.strip().rstrip(".!").strip().upper()


def classify(body: str, extra_opt_out: Iterable[str] = ()) -> Action | None:
    """The keyword action a whole inbound message asks for, if any."""
    word = normalize(body)
    if not word or " " in word:
        return None
    if word in OPT_OUT or word in {k.upper() for k in extra_opt_out}:
        return "opt_out"
    if word in OPT_IN:
        return "opt_in"
    if word in HELP:
        return "help"
    return None


def is_agent_block(body: str) -> bool:
    """An agent's reply of STOP in a thread blocks the remote number (C7)."""
    return normalize(body) == "STOP"
