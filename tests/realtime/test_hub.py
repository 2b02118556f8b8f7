"""The event hub: per-user routing, replay, resync, overflow, and the PostgreSQL path with
two hubs standing for two processes on the real database."""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from smshub.kit.db import create_engine, psycopg_url, session_factory, unit_of_work
from smshub.kit.ids import new_id
from smshub.kit.outbox import Event, emit, session_info
from smshub.realtime.hub import (
    NOTIFY_LIMIT,
    RESYNC,
    InProcessHub,
    PostgresHub,
    Subscription,
    create_hub,
    decode_event,
    encode_event,
)
from tests.conftest import truncate_all

WAIT_S = 5.0
MakeHub = Callable[..., Awaitable[PostgresHub]]


def ev(*user_ids: str, n: object = 0, type: str = "test.event") -> Event:
    return Event(type, "t1", tuple(user_ids), {"n": n})


async def take(sub: Subscription, count: int) -> list[Event]:
    return [await asyncio.wait_for(anext(sub), WAIT_S) for _ in range(count)]


def numbers(events: list[Event]) -> list[object]:
    return [e.data.get("n") for e in events]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- local fan-out (InProcessHub) ----------------------------------------------------------


async def test_each_user_gets_only_the_events_addressed_to_them() -> None:
    hub = InProcessHub()
    async with hub.subscribe("a") as a, hub.subscribe("b") as b, hub.subscribe("a") as a2:
        hub.publish([ev("b", n=1), ev("a", n=2), ev("a", "b", n=3), ev("c", n=4)])
        assert numbers(await take(a, 2)) == [2, 3]
        assert numbers(await take(a2, 2)) == [2, 3]
        assert numbers(await take(b, 2)) == [1, 3]
        assert a.pending() == a2.pending() == b.pending() == 0
    assert hub.subscriber_count() == 0


async def test_reconnect_replays_what_was_missed_then_goes_live() -> None:
    hub = InProcessHub()
    first, second, other, third = ev("a", n=1), ev("a", n=2), ev("b", n=9), ev("a", n=3)
    hub.publish([first, second, other, third])
    async with hub.subscribe("a", first.id) as sub:
        assert numbers(await take(sub, 2)) == [2, 3]
        hub.publish([ev("a", n=4)])
        assert numbers(await take(sub, 1)) == [4]


async def test_replay_follows_commit_order_not_id_order() -> None:
    """Ids are minted at emit, before commit: a later id can commit first."""
    hub = InProcessHub()
    earlier_id, later_id = new_id(), new_id()
    committed_first = Event("x", "t1", ("a",), {"n": 1}, id=later_id)
    committed_second = Event("x", "t1", ("a",), {"n": 2}, id=earlier_id)
    hub.publish([committed_first, committed_second])
    async with hub.subscribe("a", later_id) as sub:
        assert numbers(await take(sub, 1)) == [2]


async def test_fresh_cursor_resumes_exactly_after_subscribing() -> None:
    hub = InProcessHub()
    async with hub.subscribe("a") as sub:
        empty_cursor = sub.cursor
    hub.publish([ev("a", n=1)])
    async with hub.subscribe("a") as sub:
        cursor = sub.cursor
        assert sub.pending() == 0
    hub.publish([ev("a", n=2)])
    async with hub.subscribe("a", empty_cursor) as sub:
        assert numbers(await take(sub, 2)) == [1, 2]
    async with hub.subscribe("a", cursor) as sub:
        assert numbers(await take(sub, 1)) == [2]
        assert sub.pending() == 0


@pytest.mark.parametrize("why", ["evicted_by_count", "evicted_by_age", "unknown"])
async def test_position_no_longer_buffered_gives_resync(why: str) -> None:
    clock = FakeMonotonic()
    hub = InProcessHub(buffer_events=3, buffer_age_s=60, clock=clock)
    old = ev("a", n=0)
    hub.publish([old])
    if why == "evicted_by_count":
        hub.publish([ev("a", n=i) for i in range(1, 4)])
    elif why == "evicted_by_age":
        clock.now += 61
        hub.publish([ev("a", n=1)])
    last = new_id() if why == "unknown" else old.id
    async with hub.subscribe("a", last) as sub:
        (resync,) = await take(sub, 1)
        assert resync.type == RESYNC and resync.data == {"reason": "too_old"}
        assert resync.id == sub.cursor
        hub.publish([ev("a", n=7)])
        assert numbers(await take(sub, 1)) == [7]
    async with hub.subscribe("a", resync.id) as sub:  # the resync's id is a position
        assert numbers(await take(sub, 1)) == [7]


async def test_age_eviction_keeps_the_newest_event_as_a_position() -> None:
    clock = FakeMonotonic()
    hub = InProcessHub(buffer_age_s=60, clock=clock)
    newest = ev("a", n=1)
    hub.publish([ev("a", n=0), newest])
    clock.now += 3600
    async with hub.subscribe("a", newest.id) as sub:
        hub.publish([ev("a", n=2)])
        assert numbers(await take(sub, 1)) == [2]


async def test_overflow_replaces_the_backlog_with_one_resync() -> None:
    hub = InProcessHub(queue_size=3)
    async with hub.subscribe("a") as slow, hub.subscribe("a") as fast:
        batch = [ev("a", n=i) for i in range(5)]
        for event in batch:  # publish is synchronous: it cannot wait for the slow one
            hub.publish([event])
            assert numbers(await take(fast, 1)) == [event.data["n"]]
        (resync,) = await take(slow, 1)
        assert resync.type == RESYNC and resync.data == {"reason": "overflow"}
        assert resync.id == batch[3].id  # the event that did not fit
        assert numbers(await take(slow, 1)) == [4]
        assert slow.overflows == 1 and fast.overflows == 0
    async with hub.subscribe("a", resync.id) as again:
        assert numbers(await take(again, 1)) == [4]


async def test_replay_larger_than_the_queue_becomes_a_resync() -> None:
    hub = InProcessHub(queue_size=2)
    first = ev("a", n=0)
    hub.publish([first, *(ev("a", n=i) for i in range(1, 5))])
    async with hub.subscribe("a", first.id) as sub:
        (event,) = await take(sub, 1)
        assert event.type == RESYNC
        assert sub.pending() == 1  # resync, then the last replayed event


async def test_stop_ends_open_subscriptions() -> None:
    hub = InProcessHub()
    await hub.start()
    async with hub.subscribe("a") as sub:
        waiter = asyncio.create_task(take(sub, 1))
        await asyncio.sleep(0.01)
        await hub.stop()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(waiter, WAIT_S)


async def test_publish_from_another_thread_hops_onto_the_loop() -> None:
    hub = InProcessHub()
    await hub.start()
    async with hub.subscribe("a") as sub:
        thread = threading.Thread(target=hub.publish, args=([ev("a", n=1)],))
        thread.start()
        thread.join(WAIT_S)
        assert numbers(await take(sub, 1)) == [1]
    await hub.stop()


async def test_commit_publishes_and_rollback_does_not(engine: AsyncEngine) -> None:
    hub = InProcessHub()
    sessions = session_factory(engine, info=session_info(hub, None))
    async with hub.subscribe("a") as sub:
        with pytest.raises(RuntimeError):
            async with unit_of_work(sessions) as session:
                emit(session, "x", "t1", ["a"], {"n": 1})
                raise RuntimeError("rolled back")
        async with unit_of_work(sessions) as session:
            emit(session, "x", "t1", ["a"], {"n": 2})
        assert numbers(await take(sub, 1)) == [2]
        assert sub.pending() == 0


def test_create_hub_picks_the_implementation() -> None:
    assert isinstance(create_hub("sqlite:///x.db"), InProcessHub)
    assert isinstance(create_hub("postgresql://u@h/db"), PostgresHub)
    assert isinstance(create_hub("postgresql+psycopg://u@h/db"), PostgresHub)


def test_psycopg_url_drops_the_driver_name() -> None:
    assert psycopg_url("postgresql+psycopg://u:p@h:5/db?sslmode=x") == (
        "postgresql://u:p@h:5/db?sslmode=x"
    )
    assert psycopg_url("postgresql://u@h/db") == "postgresql://u@h/db"


# --- the NOTIFY wire format -----------------------------------------------------------------


def test_small_event_round_trips_unchanged() -> None:
    event = Event("message.created", "t1", ("a", "b"), {"body": "héllo €", "n": [1, {"x": None}]})
    (payload,) = encode_event(event)
    assert decode_event(payload) == (event, 0)


@pytest.mark.parametrize("char", ["a", "€", "😀"])
def test_big_body_is_truncated_and_marked_never_dropped(char: str) -> None:
    data = {"id": new_id(), "body": char * 20_000, "status": "queued"}
    (payload,) = encode_event(Event("message.created", "t1", ("a",), data))
    assert len(payload.encode()) <= NOTIFY_LIMIT
    event, _ = decode_event(payload)
    assert event.data["truncated"] is True
    assert event.data["id"] == data["id"] and event.data["status"] == "queued"
    assert data["body"].startswith(event.data["body"]) and len(event.data["body"]) >= 500


def test_bulky_non_string_data_keeps_its_short_fields() -> None:
    data = {"id": "m1", "numbers": list(range(5000))}
    (payload,) = encode_event(Event("x", "t1", ("a",), data))
    assert decode_event(payload)[0].data == {"id": "m1", "truncated": True}


def test_many_recipients_are_split_into_parts() -> None:
    users = tuple(new_id() for _ in range(1000))
    event = Event("unread.changed", "t1", users, {"conversation_id": "c1", "body": "x" * 5000})
    payloads = encode_event(event)
    assert len(payloads) > 1
    decoded = [decode_event(p) for p in payloads]
    assert all(len(p.encode()) <= NOTIFY_LIMIT for p in payloads)
    assert [part for _, part in decoded] == list(range(len(payloads)))
    assert {e.id for e, _ in decoded} == {event.id}
    assert tuple(u for e, _ in decoded for u in e.user_ids) == users
    assert all(e.data["conversation_id"] == "c1" for e, _ in decoded)


def test_malformed_payload_is_a_value_error() -> None:
    for bad in ["", "[]", "{}", json.dumps({"id": 1, "type": "x"})]:
        with pytest.raises(ValueError):
            decode_event(bad)


# --- PostgreSQL: two hubs stand for two processes --------------------------------------------


@pytest.fixture
def pg_url(db_url: str) -> str:
    if not db_url.startswith("postgres"):
        pytest.skip("LISTEN/NOTIFY needs PostgreSQL (set SMSHUB_TEST_POSTGRES_URL)")
    truncate_all(db_url)
    return db_url


@pytest.fixture
async def hubs(pg_url: str) -> AsyncIterator[MakeHub]:
    """Start hubs on a channel of this test's own, so parallel runs cannot cross."""
    channel = f"smshub_test_{new_id().lower()}"
    async with AsyncExitStack() as stack:

        async def make(**kwargs: object) -> PostgresHub:
            hub = PostgresHub(pg_url, channel=channel, **kwargs)  # type: ignore[arg-type]
            await hub.start()
            stack.push_async_callback(hub.stop)
            return hub

        yield make


async def test_every_process_gets_every_event_exactly_once(
    hubs: MakeHub,
) -> None:
    one, two = await hubs(), await hubs()
    async with one.subscribe("a") as on_one, two.subscribe("a") as on_two:
        one.publish([ev("a", n=i) for i in range(50)])
        two.publish([ev("b", n=100), ev("a", n=50)])
        got_one, got_two = numbers(await take(on_one, 51)), numbers(await take(on_two, 51))
        # Two senders race, but every process hears the one commit order of PostgreSQL.
        assert got_one == got_two
        assert [n for n in got_one if n != 50] == list(range(50))
        one.publish([ev("a", n="sentinel")])  # anything duplicated would come before it
        assert numbers(await take(on_one, 1)) == ["sentinel"]
        assert numbers(await take(on_two, 1)) == ["sentinel"]


async def test_a_commit_in_one_process_reaches_streams_in_another(
    hubs: MakeHub, pg_url: str
) -> None:
    sender, receiver = await hubs(listen=False), await hubs()
    engine = create_engine(pg_url)
    sessions = session_factory(engine, info=session_info(sender, None))
    try:
        async with receiver.subscribe("a") as sub:
            async with unit_of_work(sessions) as session:
                emit(session, "message.created", "t1", ["a"], {"n": 1})
            assert numbers(await take(sub, 1)) == [1]
    finally:
        await engine.dispose()


async def test_big_events_arrive_truncated_to_everyone(hubs: MakeHub) -> None:
    one, two = await hubs(), await hubs()
    users = tuple(new_id() for _ in range(600))
    big = Event("message.created", "t1", users, {"id": "m1", "body": "€" * 50_000})
    async with one.subscribe(users[0]) as first, two.subscribe(users[-1]) as last:
        one.publish([big, Event("x", "t1", users, {"n": "after"})])
        for sub in (first, last):
            got, after = await take(sub, 2)
            assert got.id == big.id and got.data["truncated"] is True
            assert got.data["id"] == "m1" and got.data["body"].startswith("€€€")
            assert after.data == {"n": "after"}


async def test_control_characters_in_data_cross_the_wire_intact(hubs: MakeHub) -> None:
    """Payloads travel joined by a record separator: one inside the data must survive."""
    one, two = await hubs(), await hubs()
    odd = "a\x1eb\x1fc\x00d\n"
    async with two.subscribe("a") as sub:
        one.publish([ev("a", n=odd), ev("a", n=2), ev("a", n="\x1e")])
        assert numbers(await take(sub, 3)) == [odd, 2, "\x1e"]


async def _terminate(url: str, conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
    pid = conn.info.backend_pid
    async with await psycopg.AsyncConnection.connect(psycopg_url(url), autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def test_listener_reconnects_and_makes_clients_resync(hubs: MakeHub, pg_url: str) -> None:
    hub = await hubs()
    async with hub.subscribe("a") as sub:
        await _terminate(pg_url, hub.connections["listen"])
        (resync,) = await take(sub, 1)
        assert resync.type == RESYNC and resync.data == {"reason": "reconnected"}
        assert hub.reconnects == 1
        hub.publish([ev("a", n=1)])
        assert numbers(await take(sub, 1)) == [1]


async def test_sender_reconnects_and_loses_nothing(hubs: MakeHub, pg_url: str) -> None:
    hub = await hubs()
    async with hub.subscribe("a") as sub:
        hub.publish([ev("a", n=1)])
        assert numbers(await take(sub, 1)) == [1]
        await _terminate(pg_url, hub.connections["send"])
        hub.publish([ev("a", n=2), ev("a", n=3)])
        assert numbers(await take(sub, 2)) == [2, 3]


async def test_publish_to_receive_latency(hubs: MakeHub) -> None:
    """Not a benchmark: a sanity bound, and the median printed for the report."""
    one, two = await hubs(), await hubs()
    delays = []
    async with two.subscribe("a") as sub:
        for i in range(100):
            started = time.perf_counter()
            one.publish([ev("a", n=i)])
            await take(sub, 1)
            delays.append(time.perf_counter() - started)
    median_ms = statistics.median(delays) * 1000
    print(f"publish->receive across two PostgresHubs: median {median_ms:.2f} ms")
    assert median_ms < 100
