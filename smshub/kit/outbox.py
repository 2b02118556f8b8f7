"""Realtime events that leave only after the transaction that caused them commits.

Services call `emit(session, ...)`; the events wait in `session.info` and go to the
session factory's `EventSink` after commit, or vanish on rollback. Jobs need no such
buffer: they are rows in the same transaction (`kit.jobs.enqueue`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from smshub.kit.db import AFTER_COMMIT
from smshub.kit.ids import new_id

_PENDING = "smshub.pending_events"
_SINK = "smshub.event_sink"
_WAKE = "smshub.wake_jobs"
_JOBS = "smshub.jobs_enqueued"
AFTER_COMMIT.update((_PENDING, _JOBS))


@dataclass(frozen=True)
class Event:
    """One realtime event for a set of users of one tenant."""

    type: str
    tenant_id: str
    user_ids: tuple[str, ...]
    data: dict[str, Any]
    id: str = field(default_factory=new_id)


class EventSink(Protocol):
    def publish(self, events: Sequence[Event]) -> None:
        """Hand events on without blocking (called inside the commit)."""


def emit(
    session: AsyncSession, type: str, tenant_id: str, user_ids: Sequence[str], data: dict[str, Any]
) -> None:
    if not user_ids:
        return
    pending: list[Event] = session.info.setdefault(_PENDING, [])
    pending.append(Event(type, tenant_id, tuple(dict.fromkeys(user_ids)), data))


def note_job_enqueued(session: AsyncSession) -> None:
    """Nudge this process's job runner after commit instead of waiting for its poll."""
    session.info[_JOBS] = True


def session_info(sink: EventSink | None, wake: Callable[[], None] | None) -> dict[str, Any]:
    """The `info` a session factory passes to every session it makes."""
    return {_SINK: sink, _WAKE: wake}


@event.listens_for(Session, "after_commit")
def _release(session: Session) -> None:
    events: list[Event] = session.info.pop(_PENDING, [])
    sink: EventSink | None = session.info.get(_SINK)
    if events and sink is not None:
        sink.publish(events)
    if session.info.pop(_JOBS, False):
        wake: Callable[[], None] | None = session.info.get(_WAKE)
        if wake is not None:
            wake()


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_JOBS, None)
