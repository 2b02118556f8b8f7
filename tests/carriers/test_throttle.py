"""Token buckets (pure) and the buckets shared through the database by several engines."""

from __future__ import annotations

import asyncio

import pytest

from smshub.carriers import pacing
from smshub.carriers.throttle import Bucket, grant
from smshub.kit.db import create_engine, session_factory


@pytest.mark.parametrize(
    ("rate", "tokens", "elapsed", "wanted", "granted", "retry"),
    [
        (10, 0, 0.0, 5, 0, 0.1),  # empty: the next token in 1/rate
        (10, 0, 0.5, 10, 5, 0.1),  # half a second buys 5
        (10, 0, 5.0, 50, 10, 0.1),  # never more than one second of burst
        (10, 3, 0.0, 2, 2, 0.0),
        (0, 0, 0.0, 500, 500, 0.0),  # 0 means no limit
        (0.5, 0, 1.0, 3, 0, 1.0),  # below one a second
    ],
)
def test_grant_table(rate, tokens, elapsed, wanted, granted, retry):
    got = grant([Bucket(rate, tokens, 100.0)], wanted, 100.0 + elapsed)
    assert got.granted == granted
    assert got.retry_in_s == pytest.approx(retry)


def test_two_buckets_give_the_smaller_budget():
    got = grant([Bucket(100, 50, 1.0), Bucket(5, 3, 1.0)], 20, 1.0)
    assert got.granted == 3
    assert [b.tokens for b in got.buckets] == [47, 0]


@pytest.mark.parametrize("rate", [50, 200])
def test_rate_holds_over_a_minute_of_simulated_time(rate):
    bucket, sent, now = Bucket(rate, 0.0, 1000.0), 0, 1000.0
    while now < 1060.0:
        got = grant([bucket], 200, now)
        bucket, sent = got.buckets[0], sent + got.granted
        now += max(got.retry_in_s, 0.013)  # a worker polling at odd intervals
    assert rate * 60 * 0.98 <= sent <= rate * 60


async def test_buckets_are_shared_between_processes(clean_db):
    """Two engines (as two worker processes) draw on one connector budget."""
    engines = [create_engine(clean_db), create_engine(clean_db)]
    factories = [session_factory(e) for e in engines]
    limits = pacing.keys("c1", 50, "+14155550100", 0)
    total, now = 0, 2000.0
    try:
        for step in range(600):  # 60 simulated seconds, alternating processes
            async with factories[step % 2]() as session:
                got = await pacing.take(session, limits, 20, now)
                await session.commit()
            total += got.granted
            now += 0.1
    finally:
        for e in engines:
            await e.dispose()
    assert 50 * 60 * 0.98 <= total <= 50 * 60


async def test_concurrent_takes_never_overspend(clean_db):
    engines = [create_engine(clean_db) for _ in range(2)]
    factories = [session_factory(e) for e in engines]
    limits = pacing.keys("c2", 30, "+14155550100", 0)

    async def take(i: int, now: float) -> int:
        async with factories[i]() as session:
            got = await pacing.take(session, limits, 25, now)
            await session.commit()
            return got.granted

    try:
        await take(0, 3000.0)  # create the row, empty
        if clean_db.startswith("sqlite"):
            results = [await take(i, 3001.0) for i in range(2)]
        else:
            results = list(await asyncio.gather(take(0, 3001.0), take(1, 3001.0)))
    finally:
        for e in engines:
            await e.dispose()
    assert sum(results) == 30  # one second of budget, split, never doubled


def test_a_stale_clock_never_moves_the_refill_time_back():
    bucket = grant([Bucket(200, 0.0, 10.0)], 0, 11.0).buckets[0]  # refilled at t=11
    late = grant([bucket], 500, 10.5)  # a taker that read the clock before the lock
    assert late.granted == 200 and late.buckets[0].at == 11.0
    again = grant(list(late.buckets), 500, 11.5)
    assert again.granted == 100  # only the half second since t=11, not since t=10.5


def test_reserve_books_each_message_its_own_slot():
    from smshub.carriers.throttle import reserve

    got = reserve([Bucket(10, 2.0, 5.0)], 6, 5.0, horizon_s=0.3)
    assert got.now == 2
    assert [round(w, 3) for w in got.later] == [0.1, 0.2, 0.3]
    assert got.buckets[0].tokens == -3  # booked ahead
    assert got.retry_in_s >= 0.3
    # The next caller finds the debt: its first token is after the booked ones.
    nxt = reserve(list(got.buckets), 1, 5.0, horizon_s=10)
    assert nxt.now == 0 and round(nxt.later[0], 3) == 0.4


@pytest.mark.parametrize("rate", [50, 200])
def test_booked_schedule_holds_the_rate(rate):
    from smshub.carriers.throttle import reserve

    bucket, sent, now, due = Bucket(rate, 0.0, 1000.0), [], 1000.0, []
    while now < 1060.0:
        got = reserve([bucket], 500, now, horizon_s=30)
        bucket = got.buckets[0]
        sent += [now] * got.now
        due += [now + w for w in got.later]
        now += 0.5  # a worker polling every half second
    sent += due
    in_minute = sum(1 for t in sent if 1000.0 <= t < 1060.0)
    assert rate * 60 * 0.98 <= in_minute <= rate * 60 + 1


@pytest.mark.parametrize("rate", [50, 200])
def test_late_booked_messages_are_smoothed_by_the_sending_process(rate):
    """Booked messages that reach the sender late (a stall, a slow bind, a round through
    a standby worker) go out at no more than the rate plus one second's burst, and none
    is dropped or counted twice."""
    key = f"smooth-test-{rate}"
    now = 5000.0
    sent: list[tuple[float, str]] = []
    waiting: list[tuple[float, str]] = []
    # Ten seconds' booked messages arrive at once after a stall.
    arrivals = {5000.0: [f"m{i}" for i in range(rate * 10)]}
    while now < 5030.0:
        batch = [m for t, m in waiting if t <= now] + arrivals.pop(now, [])
        waiting = [(t, m) for t, m in waiting if t > now]
        waits = pacing.smooth(key, rate, len(batch), now)
        sent += [(now, m) for m, w in zip(batch, waits, strict=True) if w <= 0]
        waiting += [(now + w, m) for m, w in zip(batch, waits, strict=True) if w > 0]
        now = round(now + 0.05, 2)  # a worker claiming every 50 ms
    assert sorted(m for _, m in sent) == sorted(f"m{i}" for i in range(rate * 10))
    for start in range(5000, 5030):
        in_second = sum(1 for t, _ in sent if start <= t < start + 1)
        assert in_second <= rate * 2  # a full bucket, then the rate
    assert sum(1 for t, _ in sent if t < 5005.0) <= rate * 5 + rate  # 5 s + the burst


def test_smooth_is_a_no_op_without_a_limit():
    assert pacing.smooth("unlimited", 0, 3, 1.0) == [0.0, 0.0, 0.0]
