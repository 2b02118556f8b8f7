"""Delivery receipts. Pure: stdlib only.

SMPP 3.4 Appendix B: the receipt text `id:IIII sub:SSS dlvrd:DDD submit date:... done
date:... stat:DDDDDDD err:E text:...`, carried in a deliver_sm (or data_sm) whose
esm_class has the SMSC-delivery-receipt bit (§5.2.12). §5.3.2.12 receipted_message_id and
§5.3.2.35 message_state TLVs say the same in structured form and win when present.

Carriers disagree about the id: some report in a receipt, in decimal, the id they gave in
hex in submit_sm_resp (and the other way round). `ref_candidates` lists the spellings to
look up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Outcome = Literal["delivered", "failed", "pending"]

# §5.2.28 message_state values -> our outcome.
STATES: Final[dict[int, Outcome]] = {
    1: "pending",  # ENROUTE
    2: "delivered",  # DELIVERED
    3: "failed",  # EXPIRED
    4: "failed",  # DELETED
    5: "failed",  # UNDELIVERABLE
    6: "pending",  # ACCEPTED
    7: "failed",  # UNKNOWN
    8: "failed",  # REJECTED
}
STATS: Final[dict[str, Outcome]] = {
    "DELIVRD": "delivered",
    "EXPIRED": "failed",
    "DELETED": "failed",
    "UNDELIV": "failed",
    "REJECTD": "failed",
    "UNKNOWN": "failed",
    "ACCEPTD": "pending",
    "ENROUTE": "pending",
}
_FIELD = re.compile(r"(id|stat|err):\s*(\S*)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    message_id: str
    outcome: Outcome
    stat: str
    err: str


def parse_receipt(
    text: str, receipted_id: bytes | None = None, message_state: bytes | None = None
) -> DeliveryReceipt | None:
    """The receipt in a deliver_sm/data_sm, or None if it names no message id."""
    fields = {k.lower(): v for k, v in _FIELD.findall(text)}
    message_id = fields.get("id", "")
    if receipted_id:
        message_id = receipted_id.split(b"\0", 1)[0].decode("latin-1")
    stat = fields.get("stat", "").upper()
    outcome: Outcome = STATS.get(stat, "failed" if stat else "pending")
    if message_state and len(message_state) == 1:
        outcome = STATES.get(message_state[0], outcome)
        stat = stat or f"state {message_state[0]}"
    if not message_id:
        return None
    return DeliveryReceipt(message_id, outcome, stat, fields.get("err", ""))


def ref_candidates(message_id: str) -> list[str]:
    """Spellings of `message_id` a carrier may have used elsewhere: as given, hex read as
    decimal, decimal written as hex (both cases), without leading zeros."""
    out = [message_id]
    text = message_id.strip()
    if not text or len(text) > 64:
        return out
    if re.fullmatch(r"[0-9A-Fa-f]+", text):
        value = int(text, 16)
        out += [str(value), format(value, "x"), format(value, "X")]
    if text.isdigit():
        value = int(text)
        out += [str(value), format(value, "x"), format(value, "X")]
    return list(dict.fromkeys(out))
