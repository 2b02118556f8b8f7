"""The ESME side of an SMPP 3.4 session, as a pure state machine: stdlib only.

SMPP 3.4 §2.2 session states (open, bound, unbinding, closed); §3.2 sequence numbers
(1..0x7FFFFFFF, chosen by the sender of a request and echoed in its response); §2.6
windowing (at most `window` requests outstanding); §4.11 enquire_link keepalive.

The link (`link.py`) does the I/O and asks this object what to do. Time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Generic, TypeVar

import smshub.carriers.smpp.pdu as p

T = TypeVar("T")
MAX_SEQUENCE = 0x7FFFFFFF


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"  # connected, bind sent
    BOUND = "bound"
    UNBINDING = "unbinding"


@dataclass
class _Outstanding(Generic[T]):
    tag: T
    sent_at: datetime


@dataclass
class Session(Generic[T]):
    """Sequence numbers, the window of outstanding requests and the keepalive clock.
    A `tag` is whatever the caller wants back with the response (a future, an id)."""

    window: int = 10
    enquire_link_s: float = 30.0
    response_timeout_s: float = 30.0
    state: State = State.CLOSED
    _next: int = 1
    _outstanding: dict[int, _Outstanding[T]] = field(default_factory=dict)
    _last_rx: datetime | None = None
    _last_enquire: datetime | None = None

    def next_sequence(self) -> int:
        seq = self._next
        self._next = 1 if seq >= MAX_SEQUENCE else seq + 1
        return seq

    @property
    def in_flight(self) -> int:
        return len(self._outstanding)

    def can_send(self) -> bool:
        return self.state is State.BOUND and len(self._outstanding) < self.window

    def sent(self, sequence: int, tag: T, now: datetime) -> None:
        self._outstanding[sequence] = _Outstanding(tag, now)

    def received(self, now: datetime) -> None:
        self._last_rx = now

    def resolve(self, resp: p.Pdu) -> T | None:
        """The tag of the request `resp` answers; None for a response to nothing of ours."""
        found = self._outstanding.pop(resp.sequence, None)
        return found.tag if found else None

    def keepalive_due(self, now: datetime) -> bool:
        """Time for an enquire_link: the link has been quiet for `enquire_link_s`."""
        if self.state is not State.BOUND:
            return False
        last = max(filter(None, (self._last_rx, self._last_enquire)), default=None)
        return last is None or now - last >= timedelta(seconds=self.enquire_link_s)

    def enquired(self, now: datetime) -> None:
        self._last_enquire = now

    def dead(self, now: datetime) -> bool:
        """Nothing heard for two keepalive periods plus the response timeout."""
        if self.state is not State.BOUND or self._last_rx is None:
            return False
        limit = timedelta(seconds=2 * self.enquire_link_s + self.response_timeout_s)
        return now - self._last_rx > limit

    def timed_out(self, now: datetime) -> list[T]:
        """Requests unanswered for `response_timeout_s`: forgotten, their tags returned."""
        limit = timedelta(seconds=self.response_timeout_s)
        late = [s for s, o in self._outstanding.items() if now - o.sent_at >= limit]
        return [self._outstanding.pop(s).tag for s in late]

    def reset(self) -> list[T]:
        """The connection is gone: every outstanding request's tag, to send again."""
        tags = [o.tag for o in self._outstanding.values()]
        self._outstanding.clear()
        self.state = State.CLOSED
        self._last_rx = self._last_enquire = None
        return tags


def bind_pdu(kind: str, sequence: int, system_id: str, password: str, system_type: str) -> p.Pdu:
    """§4.1 bind_transceiver / bind_transmitter / bind_receiver, interface version 3.4."""
    return p.make(
        f"bind_{kind}",
        sequence,
        system_id=system_id,
        password=password,
        system_type=system_type,
        interface_version=0x34,
        addr_ton=0,
        addr_npi=0,
        address_range=b"",
    )


def response_to(request: p.Pdu, status: int = p.ESME_ROK) -> p.Pdu:
    """The response an ESME owes to an SMSC-originated request (§4.6.2, §4.11.2, §4.2.2)."""
    params: dict[str, p.Value] = {}
    if request.command_id in (p.DELIVER_SM, p.DATA_SM):
        params["message_id"] = b""
    return p.Pdu(request.command_id | p.RESP, request.sequence, status, params)


TRANSIENT_STATUSES = frozenset(
    {p.ESME_RMSGQFUL, p.ESME_RTHROTTLED, p.ESME_RSYSERR, p.ESME_RX_T_APPN}
)
THROTTLE_STATUSES = frozenset({p.ESME_RMSGQFUL, p.ESME_RTHROTTLED})
