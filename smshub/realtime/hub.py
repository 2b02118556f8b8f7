"""The event hub: committed events fan out to the SSE streams of their recipients.

Why a hub and not a query per client: every open browser tab holds a stream, so the work
per event must be O(recipients), never O(open streams), and must never block the commit
that published it. Services do not call the hub; `kit.outbox` hands it the events of a
transaction after the commit, through `publish`, which only enqueues.

Two implementations share the local fan-out (`Hub`):
- `InProcessHub`: one process (SQLite, `smshub serve`) delivers straight to its streams.
- `PostgresHub`: several processes. `publish` queues; a sender task NOTIFYs on channel
  `smshub_events`; a listener task in every process LISTENs and delivers what it hears,
  its own events included. So every process sees every event once, in the order
  PostgreSQL committed the notifications (the same order in every process).

Replay (`Last-Event-ID`): the hub keeps the last events in a ring buffer, in arrival
order. Ids are ULIDs minted at `emit` time, before the commit, so two transactions can
commit in the opposite order of their ids; replay therefore resumes after the *position*
of the client's last id, not after ids that compare greater. When that position is gone
(too old, another process, a restart, a listener gap), the client gets one `resync` event
and reloads its state. A `resync` event's id is itself a position: reconnecting with it
resumes right after the moment of the resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from itertools import islice
from types import TracebackType
from typing import Any

import orjson
import psycopg
from sqlalchemy.engine import make_url

from smshub.kit.backoff import Backoff
from smshub.kit.db import psycopg_url
from smshub.kit.ids import new_id
from smshub.kit.outbox import Event
from smshub.kit.pglisten import LOST, Connection, close_quietly, consume, listen, relisten

log = logging.getLogger(__name__)

CHANNEL = "smshub_events"
RESYNC = "resync"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; keep a margin.
NOTIFY_LIMIT = 7900
BUFFER_EVENTS = 10_000
BUFFER_AGE_S = 300.0
QUEUE_SIZE = 1000
Monotonic = Callable[[], float]


def resync_event(user_id: str, cursor: str, reason: str) -> Event:
    """The event that tells one client to reload: what it missed cannot be replayed."""
    return Event(RESYNC, "", (user_id,), {"reason": reason}, id=cursor)


class _Ring:
    """The last events in arrival order, by count and by age, for Last-Event-ID replay."""

    def __init__(self, capacity: int, max_age_s: float, clock: Monotonic) -> None:
        self._capacity, self._max_age_s, self._clock = capacity, max_age_s, clock
        self.reset()

    def reset(self) -> None:
        """Forget everything: after a gap, no old position may claim to be complete."""
        self._items: deque[tuple[int, float, Event]] = deque()
        self._seq_of: dict[str, int] = {}
        self._next_seq = 0
        self._evicted = False
        # The position "before the first event": what an empty buffer hands out.
        self._origin = new_id()

    def append(self, event: Event) -> None:
        self._items.append((self._next_seq, self._clock(), event))
        self._seq_of[event.id] = self._next_seq
        self._next_seq += 1
        self._evict()

    def _evict(self) -> None:
        # The newest event always stays: it is the position every fresh client starts at.
        horizon = self._clock() - self._max_age_s
        items = self._items
        while len(items) > self._capacity or (len(items) > 1 and items[0][1] < horizon):
            seq, _, old = items.popleft()
            if self._seq_of.get(old.id) == seq:
                del self._seq_of[old.id]
            self._evicted = True

    def cursor(self) -> str:
        """The current position: the id of the newest event, or the origin."""
        return self._items[-1][2].id if self._items else self._origin

    def after(self, last_id: str) -> list[Event] | None:
        """Events that arrived after `last_id`, or None when that position is unknown."""
        self._evict()
        if last_id == self._origin and not self._evicted:
            return [item[2] for item in self._items]
        seq = self._seq_of.get(last_id)
        if seq is None:
            return None
        first = self._items[0][0]
        return [item[2] for item in islice(self._items, seq - first + 1, None)]


class Subscription:
    """One client's mailbox: an async context manager and an async iterator of Events.

    The queue is bounded: a client that cannot keep up loses its backlog and gets one
    `resync` instead, so a slow or stalled stream never holds back publishers.
    """

    def __init__(self, hub: Hub, user_id: str, last_event_id: str | None, limit: int) -> None:
        self.user_id = user_id
        self.last_event_id = last_event_id
        # Set on entry: the stream position at the moment of subscribing.
        self.cursor = ""
        self.overflows = 0
        self._hub = hub
        self._limit = limit
        self._items: deque[Event] = deque()
        self._wakeup = asyncio.Event()
        self._closed = False

    async def __aenter__(self) -> Subscription:
        self._hub._attach(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._hub._detach(self)
        self.close()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        if self._closed:
            raise StopAsyncIteration
        return self._items.popleft()

    def pending(self) -> int:
        return len(self._items)

    def deliver(self, event: Event) -> None:
        if self._closed:
            return
        if len(self._items) >= self._limit:
            self.overflows += 1
            self.resync(event.id, "overflow")
            return
        self._items.append(event)
        self._wakeup.set()

    def resync(self, cursor: str, reason: str) -> None:
        """Replace the backlog by one `resync`: the client reloads rather than catch up."""
        self._items.clear()
        self._items.append(resync_event(self.user_id, cursor, reason))
        self._wakeup.set()

    def close(self) -> None:
        """End the iteration at once (hub stopping, client gone)."""
        self._closed = True
        self._wakeup.set()


class Hub(ABC):
    """An EventSink that fans events out to local subscribers, indexed by user id."""

    def __init__(
        self,
        *,
        buffer_events: int = BUFFER_EVENTS,
        buffer_age_s: float = BUFFER_AGE_S,
        queue_size: int = QUEUE_SIZE,
        clock: Monotonic = time.monotonic,
    ) -> None:
        self._ring = _Ring(buffer_events, buffer_age_s, clock)
        self._subs: dict[str, set[Subscription]] = {}
        self._queue_size = queue_size
        self._loop: asyncio.AbstractEventLoop | None = None

    def publish(self, events: Sequence[Event]) -> None:
        """Hand events on without blocking (the commit hook calls this)."""
        loop = self._loop
        if loop is None or _running_loop() is loop:
            self._accept(list(events))
        else:  # a commit in another thread: hop onto the hub's loop
            loop.call_soon_threadsafe(self._accept, list(events))

    @abstractmethod
    def _accept(self, events: list[Event]) -> None:
        """Take published events, on the hub's loop; must not block."""

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        """End every subscription, so open streams finish and the server can exit."""
        for subs in list(self._subs.values()):
            for sub in list(subs):
                sub.close()
        self._subs.clear()

    def subscribe(self, user_id: str, last_event_id: str | None = None) -> Subscription:
        """Events for `user_id`: first those missed since `last_event_id`, then live ones.

        Use as `async with hub.subscribe(...) as sub: async for event in sub: ...`;
        the subscription is registered on entry, atomically with the replay.
        """
        return Subscription(self, user_id, last_event_id, self._queue_size)

    def subscriber_count(self) -> int:
        return sum(len(subs) for subs in self._subs.values())

    def _attach(self, sub: Subscription) -> None:
        # No await in here: replay and registration see the same buffer, so nothing
        # slips between them and nothing arrives twice.
        sub.cursor = self._ring.cursor()
        if sub.last_event_id is not None:
            missed = self._ring.after(sub.last_event_id)
            if missed is None:
                sub.resync(sub.cursor, "too_old")
            else:
                for event in missed:
                    if sub.user_id in event.user_ids:
                        sub.deliver(event)
        self._subs.setdefault(sub.user_id, set()).add(sub)

    def _detach(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.user_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.user_id]

    def _dispatch(self, event: Event) -> None:
        """Buffer one event and hand it to the subscribers of its recipients."""
        self._ring.append(event)
        for user_id in event.user_ids:
            for sub in self._subs.get(user_id, ()):
                sub.deliver(event)

    def _resync_all(self, reason: str) -> None:
        """After a gap: forget the buffer and tell every local client to reload."""
        self._ring.reset()
        cursor = self._ring.cursor()
        for subs in self._subs.values():
            for sub in subs:
                sub.resync(cursor, reason)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class InProcessHub(Hub):
    """One process: published events go straight to local subscribers."""

    def _accept(self, events: list[Event]) -> None:
        for event in events:
            self._dispatch(event)


# --- the NOTIFY wire format ---------------------------------------------------------------


def _encode(value: Any) -> str:
    """Compact JSON, UTF-8 where possible; escaped when a lone surrogate would not encode
    (orjson refuses it)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"))


def _size(value: Any) -> int:
    """Bytes on the wire: the NOTIFY limit counts bytes, not characters."""
    return len(_encode(value).encode())


def _cut_strings(value: Any, cap: int) -> Any:
    if isinstance(value, str):
        return value[:cap] if len(value) > cap else value
    if isinstance(value, dict):
        return {k: _cut_strings(v, cap) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cut_strings(v, cap) for v in value]
    return value


def fit_data(data: dict[str, Any], budget: int) -> dict[str, Any]:
    """`data` within `budget` bytes: long strings (a message body) are cut and the result
    says `"truncated": true`, so a client knows to fetch the full object. Never empty-handed:
    at worst only the short scalar fields (ids, statuses) are kept."""
    if _size(data) <= budget:
        return data
    for cap in (2000, 500, 100, 32):
        cut: dict[str, Any] = {**_cut_strings(data, cap), "truncated": True}
        if _size(cut) <= budget:
            return cut
    small = {k: v for k, v in _cut_strings(data, 32).items() if not isinstance(v, dict | list)}
    small["truncated"] = True
    return small if _size(small) <= budget else {"truncated": True}


def _recipient_chunks(user_ids: tuple[str, ...], budget: int) -> list[tuple[str, ...]]:
    """Split a long recipient list so that each part's list fits in `budget` bytes."""
    chunks: list[tuple[str, ...]] = []
    current: list[str] = []
    used = 2
    for user_id in user_ids:
        cost = _size(user_id) + 1
        if current and used + cost > budget:
            chunks.append(tuple(current))
            current, used = [], 2
        current.append(user_id)
        used += cost
    chunks.append(tuple(current))
    return chunks


def _head(event: Event, part: int, users: Sequence[str]) -> dict[str, Any]:
    return {
        "id": event.id,
        "part": part,
        "type": event.type,
        "tenant_id": event.tenant_id,
        "user_ids": list(users),
    }


def encode_event(event: Event, limit: int = NOTIFY_LIMIT) -> list[str]:
    """The NOTIFY payloads of one event: usually one; more (`part` 0, 1, ...) when the
    recipients alone would not fit. Every part carries the same id and the data."""
    whole = _encode({**_head(event, 0, event.user_ids), "data": event.data})
    if len(whole) * 4 <= limit or len(whole.encode()) <= limit:
        return [whole]  # the usual case: one encode, no fitting
    payloads = []
    for part, users in enumerate(_recipient_chunks(event.user_ids, limit // 2)):
        head = _head(event, part, users)
        budget = limit - _size({**head, "data": {}})
        payloads.append(_encode({**head, "data": fit_data(event.data, budget)}))
    return payloads


def decode_event(payload: str) -> tuple[Event, int]:
    """An Event and its part number from a NOTIFY payload; ValueError when malformed."""
    try:
        raw = orjson.loads(payload)
        event = Event(
            type=str(raw["type"]),
            tenant_id=str(raw["tenant_id"]),
            user_ids=tuple(str(u) for u in raw["user_ids"]),
            data=dict(raw["data"]),
            id=str(raw["id"]),
        )
        return event, int(raw.get("part", 0))
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not an event payload: {payload[:200]!r}") from exc


# --- PostgreSQL LISTEN/NOTIFY ---------------------------------------------------------------


class _Recent:
    """A bounded set of recently seen keys: drops the duplicate of a retried NOTIFY."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._keys: dict[tuple[str, int], None] = {}

    def add(self, key: tuple[str, int]) -> bool:
        """True if the key is new."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._size:
            del self._keys[next(iter(self._keys))]
        return True


# The payloads travel as one text joined by the record separator, which compact JSON
# never holds raw (it escapes control characters): psycopg quoted a text[] with a Python
# regex per element, a fifth of the hub's CPU under load.
SEPARATOR = "\x1e"
_NOTIFY_SQL = (
    "SELECT pg_notify(%s, p) FROM unnest(string_to_array(%s, chr(30)))"
    " WITH ORDINALITY AS t(p, i) ORDER BY i"
)
MAX_BATCH = 200


class PostgresHub(Hub):
    """Several processes: events travel through NOTIFY and come back to every process,
    this one included, through LISTEN. Local delivery happens only on the LISTEN path, so
    each process sees each event once and all see them in the same order.

    `listen=False` makes a publisher only (a worker process has no streams to feed).
    """

    def __init__(
        self,
        database_url: str,
        *,
        listen: bool = True,
        channel: str = CHANNEL,
        outbox_size: int = 100_000,
        health_s: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._url = psycopg_url(database_url)
        self._listen, self._channel, self._health_s = listen, channel, health_s
        self._outbox: asyncio.Queue[Event] = asyncio.Queue(outbox_size)
        self._seen = _Recent(2 * BUFFER_EVENTS)
        self._tasks: list[asyncio.Task[None]] = []
        # The dedicated connections, by role ("listen", "send"); tests cut them.
        self.connections: dict[str, Connection] = {}
        self.reconnects = 0

    def _accept(self, events: list[Event]) -> None:
        for event in events:
            try:
                self._outbox.put_nowait(event)
            except asyncio.QueueFull:
                log.error("realtime outbox full (database unreachable?): dropped %s", event.id)

    async def start(self) -> None:
        """LISTEN before returning, so every event committed after start is heard."""
        await super().start()
        if self._listen:
            conn = await self._connect_listener()
            self._tasks.append(asyncio.create_task(self._listen_loop(conn), name="hub-listen"))
        self._tasks.append(asyncio.create_task(self._send_loop(), name="hub-send"))

    async def stop(self, flush_s: float = 2.0) -> None:
        """Send what is still queued (for at most `flush_s`), then stop and close."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), flush_s)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for conn in self.connections.values():
            await close_quietly(conn)
        self.connections.clear()
        await super().stop()

    # listening

    async def _connect_listener(self) -> Connection:
        conn = self.connections["listen"] = await listen(self._url, self._channel)
        return conn

    async def _listen_loop(self, conn: Connection) -> None:
        """Deliver what PostgreSQL sends; after a lost connection, listen again and make
        every local client resync, since events may have passed while nobody listened."""
        backoff = Backoff()
        while True:
            try:
                await consume(conn, self._receive, self._health_s)
            except LOST as exc:
                log.warning("realtime listener lost its connection: %s", exc)
            await close_quietly(conn)
            conn = await relisten(self._url, self._channel, backoff, "realtime listener")
            self.connections["listen"] = conn
            self.reconnects += 1
            self._resync_all("reconnected")

    def _receive(self, payload: str) -> None:
        try:
            event, part = decode_event(payload)
        except ValueError as exc:
            log.warning("%s", exc)
            return
        if self._seen.add((event.id, part)):
            self._dispatch(event)

    # sending

    async def _send_loop(self) -> None:
        conn: Connection | None = None
        backoff = Backoff()
        while True:
            batch = await self._next_batch()
            try:
                conn = await self._send(conn, batch, backoff)
            finally:
                for _ in batch:
                    self._outbox.task_done()

    async def _next_batch(self) -> list[Event]:
        """Whatever is queued, up to MAX_BATCH events: one round trip for a burst."""
        batch = [await self._outbox.get()]
        while len(batch) < MAX_BATCH and not self._outbox.empty():
            batch.append(self._outbox.get_nowait())
        return batch

    async def _send(
        self, conn: Connection | None, events: list[Event], backoff: Backoff
    ) -> Connection | None:
        """NOTIFY the batch, reconnecting until it goes through. A retry after a lost
        acknowledgement may notify twice; listeners drop the duplicate by id."""
        payloads = [payload for event in events for payload in encode_event(event)]
        while True:
            try:
                if conn is None or conn.closed:
                    conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
                    self.connections["send"] = conn
                await conn.execute(_NOTIFY_SQL, (self._channel, SEPARATOR.join(payloads)))
            except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
                log.warning("realtime sender: %s; retrying", exc)
                await close_quietly(conn)
                conn = None
                await backoff.wait()
                continue
            except psycopg.Error:
                log.exception("realtime sender dropped %d events", len(events))
            backoff.reset()
            return conn


def create_hub(database_url: str, *, listen: bool = True) -> Hub:
    """PostgreSQL scales out, so its processes share events; SQLite is one process."""
    if make_url(database_url).drivername.startswith("postgres"):
        return PostgresHub(database_url, listen=listen)
    return InProcessHub()
