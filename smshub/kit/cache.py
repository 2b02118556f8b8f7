"""A small process-local read-through cache for hot, rarely changing rows (API keys,
tenant policy, who may use a number).

Entries live `ttl_s` seconds. Any write that could change a cached answer calls
`invalidate()` after its commit in this process, so one process never serves a stale
answer after its own write; other processes see it within the TTL (and the time one
reload takes, while an expired entry is still handed out). Keep the TTL short:
it bounds how long a revoked key or a removed assignment still works elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from smshub.kit.db import AFTER_COMMIT

T = TypeVar("T")
_DIRTY = "smshub.cache_dirty"
AFTER_COMMIT.add(_DIRTY)


class TTLCache:
    """While one caller reloads an expired entry, concurrent callers get the expired
    value instead of running the same queries: under load every request in flight missed
    an entry at once when it expired, each in its own transaction (measured: a burst of
    10-17 extra transactions every TTL, the API's worst latencies). They do not wait for
    that load: a caller may hold SQLite's one connection, which the load needs. After
    `invalidate()` there is nothing expired to hand out, so every caller loads."""

    def __init__(self, ttl_s: float = 2.0, max_entries: int = 50_000):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._data: dict[Hashable, tuple[float, Any]] = {}
        self._loading: set[Hashable] = set()
        self._generation = 0
        self.enabled = True

    def invalidate(self) -> None:
        self._data.clear()
        self._loading.clear()
        # A load begun before the write may have read the old row: it is not stored.
        self._generation += 1

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        now = time.monotonic()
        hit = self._data.get(key)
        if not self.enabled:
            return await load()
        if hit is not None and (hit[0] > now or key in self._loading):
            return hit[1]  # type: ignore[no-any-return]
        generation = self._generation
        self._loading.add(key)
        try:
            value = await load()
        finally:
            if generation == self._generation:
                self._loading.discard(key)
        if generation == self._generation:
            if len(self._data) >= self.max_entries:
                self._data.clear()
            self._data[key] = (now + self.ttl_s, value)
        return value


cache = TTLCache()


def mark_dirty(session: AsyncSession) -> None:
    """Drop the cache when this transaction commits (and, to be safe, now)."""
    session.info[_DIRTY] = True
    cache.invalidate()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_DIRTY, False):
        cache.invalidate()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_DIRTY, None)


# Rows whose change can change a cached answer. Any ORM write, or a bulk
# insert/update/delete statement, touching these tables drops the cache.
WATCHED = frozenset(
    {
        "tenants",
        "users",
        "api_keys",
        "numbers",
        "number_assignments",
        "call_groups",
        "group_members",
        "connectors",
        "number_forwarding",
        "webhooks",
        "compliance_keywords",
    }
)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if getattr(obj, "__tablename__", None) in WATCHED:
            session.info[_DIRTY] = True
            cache.invalidate()
            return


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: Any) -> None:
    if state.is_select:
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in WATCHED:
        state.session.info[_DIRTY] = True
        cache.invalidate()
