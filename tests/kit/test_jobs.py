"""The job runner against the real database (SQLite, and PostgreSQL when configured).

Time is a FakeClock wherever it decides what is due; the run loop tests use tiny real
waits only for the loop's own scheduling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from smshub.config import Settings
from smshub.kit.clock import FakeClock
from smshub.kit.db import unit_of_work
from smshub.kit.jobs import (
    MAX_ERROR_CHARS,
    JobContext,
    JobRegistry,
    JobRunner,
    PermanentJobError,
    RetryPolicy,
    enqueue,
    enqueue_many,
)
from smshub.models.job import Job
from smshub.worker import build_registry, create_worker

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_runner(
    sessions: Sessions,
    registry: JobRegistry,
    clock: FakeClock,
    *,
    worker_id: str = "w1",
    **kwargs: float,
) -> JobRunner:
    options: dict[str, float] = {"concurrency": 4, "poll_s": 30.0, "lease_s": 60.0} | kwargs
    return JobRunner(
        sessions,
        registry,
        worker_id=worker_id,
        concurrency=int(options.pop("concurrency")),
        clock=clock,
        rand=lambda: 1.0,
        **options,
    )


async def add(
    sessions: Sessions, clock: FakeClock, kind: str, payload: dict[str, object] | None = None, **kw
) -> str | None:
    async with unit_of_work(sessions) as session:
        return await enqueue(session, kind, payload or {}, clock=clock, **kw)


async def load(sessions: Sessions, job_id: str | None) -> Job:
    assert job_id is not None
    async with sessions() as session:
        return await session.get_one(Job, job_id)


async def count_jobs(sessions: Sessions, kind: str | None = None) -> int:
    stmt = select(func.count()).select_from(Job)
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    async with sessions() as session:
        return int((await session.execute(stmt)).scalar_one())


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def registry_with(kind: str, handler: Callable[[AsyncSession, JobContext], Awaitable[None]]):
    registry = JobRegistry()
    registry.register(kind, handler)
    return registry


async def write_child(session: AsyncSession, ctx: JobContext) -> None:
    """A handler's business write: it must commit exactly with the job's `done`."""
    await enqueue(session, "child", {"parent": ctx.job_id})


async def child_count(sessions: Sessions) -> int:
    return await count_jobs(sessions, "child")


# --- enqueue ---------------------------------------------------------------------------


async def test_enqueue_commits_with_the_caller(sessions: Sessions, clock: FakeClock) -> None:
    job_id = await add(sessions, clock, "k", {"a": 1})
    job = await load(sessions, job_id)
    assert (job.kind, job.payload, job.status, job.attempts) == ("k", {"a": 1}, "pending", 0)
    assert job.run_at == clock.now()
    assert (job.max_attempts, job.backoff, job.retry_delay_s) == (5, "exponential", 5.0)


async def test_enqueue_in_a_rolled_back_transaction_leaves_nothing(
    sessions: Sessions, clock: FakeClock
) -> None:
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessions) as session:
            await enqueue(session, "k", {}, clock=clock)
            await enqueue(session, "k2", {}, idempotency_key="key", clock=clock)
            raise RuntimeError("the business write failed")
    assert await count_jobs(sessions) == 0
    # the key was never taken
    assert await add(sessions, clock, "k2", idempotency_key="key") is not None


async def test_idempotency_key_dedupes(sessions: Sessions, clock: FakeClock) -> None:
    first = await add(sessions, clock, "k", {"n": 1}, idempotency_key="msg-1")
    assert first is not None
    assert await add(sessions, clock, "k", {"n": 2}, idempotency_key="msg-1") is None
    async with unit_of_work(sessions) as session:  # twice in one transaction
        assert await enqueue(session, "k", {}, idempotency_key="msg-2", clock=clock)
        assert await enqueue(session, "k", {}, idempotency_key="msg-2", clock=clock) is None
    assert await count_jobs(sessions) == 2
    assert (await load(sessions, first)).payload == {"n": 1}


async def test_enqueue_many_writes_all_and_drops_taken_keys(
    sessions: Sessions, clock: FakeClock
) -> None:
    assert await add(sessions, clock, "k", {"n": 0}, idempotency_key="b-1")
    async with unit_of_work(sessions) as session:
        items = [({"n": i}, f"b-{i}") for i in range(1, 4)] + [({"n": 9}, None)]
        await enqueue_many(session, "k", items, policy=RetryPolicy(max_attempts=7), clock=clock)
        await enqueue_many(session, "k", [], clock=clock)
    async with sessions() as session:
        jobs = (await session.execute(select(Job).order_by(Job.idempotency_key))).scalars().all()
    payloads = sorted(j.payload["n"] for j in jobs)
    assert payloads == [0, 2, 3, 9]  # b-1 kept its first payload
    assert {j.max_attempts for j in jobs if j.payload["n"] != 0} == {7}


async def test_idempotency_key_stays_taken_after_the_job_ran(
    sessions: Sessions, clock: FakeClock
) -> None:
    runner = make_runner(sessions, registry_with("k", write_child), clock)
    assert await add(sessions, clock, "k", idempotency_key="once")
    assert await runner.run_until_idle() == 1
    assert await add(sessions, clock, "k", idempotency_key="once") is None


async def test_enqueue_stores_the_policy(sessions: Sessions, clock: FakeClock) -> None:
    policy = RetryPolicy(max_attempts=9, backoff="fixed", retry_delay_s=1800, max_delay_s=7200)
    job = await load(sessions, await add(sessions, clock, "k", policy=policy))
    assert (job.max_attempts, job.backoff, job.retry_delay_s, job.max_delay_s) == (
        9,
        "fixed",
        1800.0,
        7200.0,
    )


@pytest.mark.parametrize(("kind", "key"), [("", None), ("x" * 101, None), ("k", "")])
async def test_enqueue_validates(sessions: Sessions, kind: str, key: str | None) -> None:
    async with sessions() as session:
        with pytest.raises(ValueError):
            await enqueue(session, kind, {}, idempotency_key=key)


# --- running ---------------------------------------------------------------------------


async def test_a_job_runs_and_its_writes_commit_with_done(
    sessions: Sessions, clock: FakeClock
) -> None:
    seen: list[JobContext] = []

    async def handler(session: AsyncSession, ctx: JobContext) -> None:
        seen.append(ctx)
        await write_child(session, ctx)

    runner = make_runner(sessions, registry_with("k", handler), clock)
    job_id = await add(sessions, clock, "k", {"x": 1})
    clock.advance(3)
    assert await runner.run_until_idle() == 1
    job = await load(sessions, job_id)
    assert (job.status, job.attempts, job.locked_by, job.lease_until) == ("done", 1, "w1", None)
    assert job.finished_at == clock.now()
    assert await child_count(sessions) == 1
    [ctx] = seen
    assert (ctx.job_id, ctx.kind, ctx.payload, ctx.attempt, ctx.worker_id) == (
        job_id,
        "k",
        {"x": 1},
        1,
        "w1",
    )


async def test_a_job_is_not_run_before_run_at(sessions: Sessions, clock: FakeClock) -> None:
    runner = make_runner(sessions, registry_with("k", write_child), clock)
    job_id = await add(sessions, clock, "k", run_at=clock.now() + timedelta(seconds=60))
    assert await runner.run_once() == 0
    clock.advance(59.9)
    assert await runner.run_once() == 0
    clock.advance(0.1)
    assert await runner.run_once() == 1
    assert (await load(sessions, job_id)).status == "done"


async def test_failure_rolls_back_the_handler_and_schedules_a_retry(
    sessions: Sessions, clock: FakeClock
) -> None:
    async def handler(session: AsyncSession, ctx: JobContext) -> None:
        await write_child(session, ctx)
        if ctx.attempt == 1:
            raise RuntimeError("carrier timeout")

    runner = make_runner(sessions, registry_with("k", handler), clock)
    policy = RetryPolicy(max_attempts=3, retry_delay_s=10, max_delay_s=100)
    job_id = await add(sessions, clock, "k", policy=policy)
    assert await runner.run_once() == 1
    job = await load(sessions, job_id)
    assert (job.status, job.attempts, job.locked_by, job.lease_until) == ("pending", 1, None, None)
    assert job.run_at == clock.now() + timedelta(seconds=10)  # rand is 1.0
    assert job.last_error is not None
    assert job.last_error.startswith("RuntimeError: carrier timeout")
    assert "Traceback" in job.last_error
    assert await child_count(sessions) == 0  # rolled back with the failure

    clock.advance(9)
    assert await runner.run_once() == 0
    clock.advance(1)
    assert await runner.run_once() == 1
    job = await load(sessions, job_id)
    assert (job.status, job.attempts) == ("done", 2)
    assert await child_count(sessions) == 1


async def test_exponential_backoff_schedule(sessions: Sessions, clock: FakeClock) -> None:
    async def handler(session: AsyncSession, ctx: JobContext) -> None:
        raise RuntimeError("down")

    runner = make_runner(sessions, registry_with("k", handler), clock)
    policy = RetryPolicy(max_attempts=5, retry_delay_s=2, max_delay_s=5)
    job_id = await add(sessions, clock, "k", policy=policy)
    waits = []
    for _ in range(4):
        assert await runner.run_once() == 1
        job = await load(sessions, job_id)
        waits.append((job.run_at - clock.now()).total_seconds())
        clock.advance(waits[-1])
    assert waits == [2, 4, 5, 5]  # doubling, capped at max_delay_s


async def test_dead_after_max_attempts(sessions: Sessions, clock: FakeClock) -> None:
    attempts: list[int] = []

    async def handler(session: AsyncSession, ctx: JobContext) -> None:
        attempts.append(ctx.attempt)
        assert ctx.is_last_attempt == (ctx.attempt == 3)
        raise RuntimeError(f"fail {ctx.attempt}")

    runner = make_runner(sessions, registry_with("k", handler), clock)
    policy = RetryPolicy(max_attempts=3, backoff="fixed", retry_delay_s=30)
    job_id = await add(sessions, clock, "k", policy=policy)
    for _ in range(5):
        await runner.run_once()
        clock.advance(30)
    job = await load(sessions, job_id)
    assert attempts == [1, 2, 3]
    assert (job.status, job.attempts) == ("dead", 3)
    assert job.finished_at is not None
    assert job.last_error is not None
    assert job.last_error.startswith("RuntimeError: fail 3")


async def test_permanent_error_goes_straight_to_dead(sessions: Sessions, clock: FakeClock) -> None:
    async def handler(session: AsyncSession, ctx: JobContext) -> None:
        await write_child(session, ctx)
        raise PermanentJobError("number does not exist")

    runner = make_runner(sessions, registry_with("k", handler), clock)
    job_id = await add(sessions, clock, "k")
    await runner.run_until_idle()
    job = await load(sessions, job_id)
    assert (job.status, job.attempts) == ("dead", 1)
    assert job.last_error is not None
    assert job.last_error.startswith("PermanentJobError: number does not exist")
    assert await child_count(sessions) == 0


async def test_unknown_kind_is_dead_with_a_clear_error(
    sessions: Sessions, clock: FakeClock
) -> None:
    runner = make_runner(sessions, JobRegistry(), clock)
    job_id = await add(sessions, clock, "nobody.handles.this")
    await runner.run_until_idle()
    job = await load(sessions, job_id)
    assert job.status == "dead"
    assert job.last_error == "no handler registered for job kind 'nobody.handles.this' (worker w1)"


async def test_long_errors_are_truncated(sessions: Sessions, clock: FakeClock) -> None:
    async def handler(session: AsyncSession, ctx: JobContext) -> None:
        raise ValueError("x" * 50_000)

    runner = make_runner(sessions, registry_with("k", handler), clock)
    job_id = await add(sessions, clock, "k")
    await runner.run_once()
    error = (await load(sessions, job_id)).last_error
    assert error is not None
    assert len(error) <= MAX_ERROR_CHARS
    assert error.startswith("ValueError: xxx")


# --- claiming and leases ----------------------------------------------------------------


async def test_claim_takes_the_earliest_due_jobs_up_to_the_limit(
    sessions: Sessions, clock: FakeClock
) -> None:
    t0 = clock.now()
    ids: list[str] = []
    for i in range(5):
        job_id = await add(sessions, clock, "k", {"i": i}, run_at=t0 - timedelta(seconds=10 - i))
        assert job_id is not None
        ids.append(job_id)
    await add(sessions, clock, "k", run_at=t0 + timedelta(seconds=1))  # not due
    runner = make_runner(sessions, JobRegistry(), clock, lease_s=30)
    claimed = await runner.claim(3)
    assert sorted(c.job_id for c in claimed) == sorted(ids[:3])
    for job_id in ids[:3]:
        job = await load(sessions, job_id)
        assert (job.status, job.locked_by, job.attempts) == ("running", "w1", 1)
        assert job.lease_until == t0 + timedelta(seconds=30)
    assert (await load(sessions, ids[3])).status == "pending"
    assert len(await runner.claim(10)) == 2


async def test_concurrent_claims_are_disjoint(sessions: Sessions, clock: FakeClock) -> None:
    ids = {await add(sessions, clock, "k", {"i": i}) for i in range(30)}
    runners = [make_runner(sessions, JobRegistry(), clock, worker_id=f"w{i}") for i in range(4)]
    batches = await asyncio.gather(*(r.claim(10) for r in runners))
    claimed = [c.job_id for batch in batches for c in batch]
    assert len(claimed) == len(set(claimed)) == 30
    assert set(claimed) == ids


async def test_a_live_lease_is_not_taken(sessions: Sessions, clock: FakeClock) -> None:
    await add(sessions, clock, "k")
    a = make_runner(sessions, JobRegistry(), clock, worker_id="a", lease_s=10)
    b = make_runner(sessions, JobRegistry(), clock, worker_id="b", lease_s=10)
    assert len(await a.claim(5)) == 1
    clock.advance(10)  # lease_until == now: not yet expired
    assert await b.claim(5) == []


async def test_an_expired_lease_is_claimed_again_and_the_old_claim_is_fenced(
    sessions: Sessions, clock: FakeClock
) -> None:
    """A worker that stalled past its lease can no longer commit: its handler's writes
    roll back, and the new claim completes the job exactly once."""
    registry = registry_with("k", write_child)
    a = make_runner(sessions, registry, clock, worker_id="a", lease_s=10)
    b = make_runner(sessions, registry, clock, worker_id="b", lease_s=10)
    job_id = await add(sessions, clock, "k")
    [stale] = await a.claim(5)
    clock.advance(10.001)
    [fresh] = await b.claim(5)
    assert (fresh.job_id, fresh.attempt) == (job_id, 2)

    await a.execute(stale)  # the handler runs, but the fence fails
    job = await load(sessions, job_id)
    assert (job.status, job.locked_by, job.attempts) == ("running", "b", 2)
    assert await child_count(sessions) == 0

    await b.execute(fresh)
    job = await load(sessions, job_id)
    assert (job.status, job.locked_by, job.attempts) == ("done", "b", 2)
    assert await child_count(sessions) == 1


async def test_a_stale_claim_cannot_record_a_failure(sessions: Sessions, clock: FakeClock) -> None:
    async def handler(session: AsyncSession, ctx: JobContext) -> None:
        raise RuntimeError("late")

    a = make_runner(sessions, registry_with("k", handler), clock, worker_id="a", lease_s=10)
    job_id = await add(sessions, clock, "k")
    [stale] = await a.claim(5)
    clock.advance(11)
    [fresh] = await a.claim(5)  # the same worker re-claims: the attempt is the fence
    await a.execute(stale)
    job = await load(sessions, job_id)
    assert (job.status, job.attempts, job.last_error) == ("running", 2, None)
    await a.execute(fresh)
    assert (await load(sessions, job_id)).status == "pending"


async def test_heartbeat_keeps_a_long_job_leased(sessions: Sessions, clock: FakeClock) -> None:
    other = make_runner(sessions, JobRegistry(), clock, worker_id="other", lease_s=10)
    stolen: list[JobContext] = []

    async def long_job(session: AsyncSession, ctx: JobContext) -> None:
        for _ in range(3):  # 24 s of fake time on a 10 s lease
            clock.advance(8)
            extended = clock.now() + timedelta(seconds=10)
            await eventually(partial(_lease_reaches, sessions, ctx.job_id, extended), within=5)
            stolen.extend(await other.claim(5))

    runner = make_runner(
        sessions, registry_with("k", long_job), clock, lease_s=10, heartbeat_s=0.01
    )
    job_id = await add(sessions, clock, "k")
    await runner.run_once()
    assert stolen == []
    job = await load(sessions, job_id)
    assert (job.status, job.locked_by, job.attempts) == ("done", "w1", 1)


async def _lease_reaches(sessions: Sessions, job_id: str, at_least: datetime) -> bool:
    lease_until = (await load(sessions, job_id)).lease_until
    return lease_until is not None and lease_until >= at_least


# --- the loop ----------------------------------------------------------------------------


async def test_loop_bounds_concurrency_and_claims_again_after_a_full_batch(
    sessions: Sessions, clock: FakeClock
) -> None:
    running = 0
    peak = 0
    done: list[str] = []

    async def handler(session: AsyncSession, ctx: JobContext) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        done.append(ctx.job_id)

    for i in range(12):
        await add(sessions, clock, "k", {"i": i})
    # poll_s is 30 s: finishing in time proves it claims again without waiting for a poll
    runner = make_runner(sessions, registry_with("k", handler), clock, concurrency=3)
    task = asyncio.create_task(runner.run())
    try:

        async def all_done() -> bool:
            return len(done) == 12

        await eventually(all_done, within=10)
        assert peak == 3
    finally:
        await runner.stop(1)
        await task
    assert await count_jobs(sessions) == 12
    async with sessions() as session:
        statuses = (await session.execute(select(Job.status))).scalars().all()
    assert set(statuses) == {"done"}


class CountingRunner(JobRunner):
    """Tells the test when the loop has claimed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.claimed = asyncio.Event()

    async def claim(self, limit: int, **kinds: Any) -> list[JobContext]:
        jobs = await super().claim(limit, **kinds)
        self.claimed.set()
        return jobs


async def test_wake_cuts_the_idle_wait_short(sessions: Sessions, clock: FakeClock) -> None:
    registry = registry_with("k", write_child)
    runner = CountingRunner(sessions, registry, worker_id="w1", poll_s=30, clock=clock)
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(runner.claimed.wait(), 5)  # found nothing: idle for 30 s
        job_id = await add(sessions, clock, "k")
        runner.wake()
        await eventually(lambda: _status_is(sessions, job_id, "done"), within=5)
    finally:
        await runner.stop(1)
        await task


async def _status_is(sessions: Sessions, job_id: str | None, status: str) -> bool:
    return (await load(sessions, job_id)).status == status


async def test_stop_lets_running_jobs_finish(sessions: Sessions, clock: FakeClock) -> None:
    started = asyncio.Event()

    async def handler(session: AsyncSession, ctx: JobContext) -> None:
        started.set()
        await asyncio.sleep(0.3)
        await write_child(session, ctx)

    runner = make_runner(sessions, registry_with("k", handler), clock)
    job_id = await add(sessions, clock, "k")
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(started.wait(), 5)
    await runner.stop(grace_s=5)
    assert task.done()
    await task
    assert (await load(sessions, job_id)).status == "done"
    assert await child_count(sessions) == 1


async def test_stop_releases_jobs_that_outlive_the_grace(
    sessions: Sessions, clock: FakeClock
) -> None:
    started = asyncio.Event()
    cancelled = False

    async def handler(session: AsyncSession, ctx: JobContext) -> None:
        nonlocal cancelled
        await write_child(session, ctx)
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled = True
            raise

    runner = make_runner(sessions, registry_with("k", handler), clock)
    job_id = await add(sessions, clock, "k")
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(started.wait(), 5)
    t0 = time.monotonic()
    await runner.stop(grace_s=0.1)
    assert time.monotonic() - t0 < 3
    await task
    assert cancelled
    job = await load(sessions, job_id)
    assert (job.status, job.attempts, job.locked_by, job.lease_until) == ("pending", 0, None, None)
    assert await child_count(sessions) == 0
    # released, so another worker takes it at once
    after = make_runner(sessions, registry_with("k", write_child), clock, worker_id="w2")
    assert await after.run_until_idle() == 1
    assert await child_count(sessions) == 1


async def test_cancelling_run_releases_in_flight_jobs(sessions: Sessions, clock: FakeClock) -> None:
    started = asyncio.Event()

    async def handler(session: AsyncSession, ctx: JobContext) -> None:
        started.set()
        await asyncio.Event().wait()

    runner = make_runner(sessions, registry_with("k", handler), clock)
    job_id = await add(sessions, clock, "k")
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    job = await load(sessions, job_id)
    assert (job.status, job.attempts, job.locked_by) == ("pending", 0, None)


async def test_stop_before_run_returns_at_once(sessions: Sessions, clock: FakeClock) -> None:
    runner = make_runner(sessions, JobRegistry(), clock)
    await asyncio.wait_for(runner.stop(0), 1)
    await asyncio.wait_for(runner.run(), 1)  # stopped: returns immediately


# --- registry and worker wiring -----------------------------------------------------------


def test_registry() -> None:
    registry = JobRegistry()

    @registry.handler("a")
    async def a(session: AsyncSession, ctx: JobContext) -> None:
        pass

    registry.register("b", a)
    assert registry.kinds() == ["a", "b"]
    assert registry.get("a") is a
    assert "b" in registry
    assert registry.get("c") is None
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a", a)


def test_test_kinds_are_registered_only_when_enabled() -> None:
    off = build_registry(Settings(enable_test_jobs=False)).kinds()
    assert not [k for k in off if k.startswith("test.")]
    on = build_registry(Settings(enable_test_jobs=True)).kinds()
    assert {"test.sleep_log", "test.fail_n", "test.noop", "test.permanent"} <= set(on)
    assert set(on) - set(off) == {k for k in on if k.startswith("test.")}


async def test_create_worker_reads_settings(sessions: Sessions, clock: FakeClock) -> None:
    settings = Settings(worker_concurrency=2, worker_poll_s=0.1, job_lease_s=7)
    runner = create_worker(settings, sessions, clock=clock, worker_id="cfg")
    assert runner.worker_id == "cfg"
    job_id = await add(sessions, clock, "k")
    [ctx] = await runner.claim(5)
    assert ctx.job_id == job_id
    assert (await load(sessions, job_id)).lease_until == clock.now() + timedelta(seconds=7)


# -- batch kinds --


async def test_batch_kind_runs_many_jobs_in_one_transaction(
    sessions: Sessions, clock: FakeClock
) -> None:
    calls: list[list[str]] = []

    async def handler(session: AsyncSession, jobs: list[JobContext]) -> None:
        calls.append([str(j.payload["n"]) for j in jobs])
        for job in jobs:
            await enqueue(session, "child", {"of": job.job_id}, clock=clock)

    registry = JobRegistry()
    registry.register_batch("b", handler, max_batch=3)
    registry.register("child", lambda s, j: asyncio.sleep(0))
    ids = [await add(sessions, clock, "b", {"n": n}) for n in range(5)]
    runner = make_runner(sessions, registry, clock)
    # One batch of 3, then the single jobs due: the 3 children that batch wrote.
    assert await runner.run_once() == 3 + 3
    assert len(calls) == 1 and len(calls[0]) == 3
    await runner.run_until_idle()
    assert sorted(n for call in calls for n in call) == ["0", "1", "2", "3", "4"]
    assert {(await load(sessions, i)).status for i in ids} == {"done"}
    assert await count_jobs(sessions, "child") == 5


async def test_a_failing_batch_falls_back_to_one_job_at_a_time(
    sessions: Sessions, clock: FakeClock
) -> None:
    async def handler(session: AsyncSession, jobs: list[JobContext]) -> None:
        if any(j.payload["bad"] for j in jobs):
            if len(jobs) == 1:
                raise RuntimeError("this one is bad")
            raise RuntimeError("the batch has a bad job")
        for job in jobs:
            await enqueue(session, "child", {"of": job.job_id}, clock=clock)

    registry = JobRegistry()
    registry.register_batch("b", handler, max_batch=10)
    registry.register("child", lambda s, j: asyncio.sleep(0))
    good = [await add(sessions, clock, "b", {"bad": False}) for _ in range(3)]
    bad = await add(sessions, clock, "b", {"bad": True})
    runner = make_runner(sessions, registry, clock)
    await runner.run_once()
    assert {(await load(sessions, i)).status for i in good} == {"done"}
    row = await load(sessions, bad)
    assert row.status == "pending" and "this one is bad" in (row.last_error or "")
    # The good jobs' writes committed exactly once despite the failed batch attempt.
    assert await count_jobs(sessions, "child") == 3


@pytest.mark.parametrize("linger_s", [0.0, 0.3])
async def test_linger_gathers_a_burst_of_enqueues_into_one_batch(
    sessions: Sessions, clock: FakeClock, linger_s: float
) -> None:
    batches: list[int] = []

    async def handler(session: AsyncSession, jobs: list[JobContext]) -> None:
        batches.append(len(jobs))

    registry = JobRegistry()
    registry.register_batch("b", handler, max_batch=50)
    runner = CountingRunner(
        sessions,
        registry,
        worker_id="w1",
        poll_s=30.0,
        lease_s=60.0,
        linger_s=linger_s,
        clock=clock,
    )
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(runner.claimed.wait(), 5)  # idle now, waiting for a wake
        await add(sessions, clock, "b")
        runner.wake()
        await asyncio.sleep(0.05)
        for _ in range(3):
            await add(sessions, clock, "b")
        runner.wake()

        async def all_ran() -> bool:
            return sum(batches) == 4

        await eventually(all_ran, within=10)
    finally:
        await runner.stop(1)
        await task
    # Without a linger the first job goes alone; with one, the burst is one batch.
    assert batches == ([1, 3] if linger_s == 0 else [4])


# -- purging done jobs --


async def _ids(sessions: Sessions) -> set[str]:
    async with sessions() as session:
        return set((await session.execute(select(Job.id))).scalars())


async def test_purge_deletes_only_done_jobs_past_the_retention(
    sessions: Sessions, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("smshub.kit.jobs.PURGE_BATCH", 3)  # several rounds

    async def fail(session: AsyncSession, ctx: JobContext) -> None:
        raise PermanentJobError("no")

    registry = registry_with("k", write_child)
    registry.register("bad", fail)
    runner = make_runner(sessions, registry, clock)
    old = [await add(sessions, clock, "k") for _ in range(7)]
    dead = await add(sessions, clock, "bad")
    await runner.run_until_idle()  # 7 done (+7 children pending), 1 dead
    clock.advance(3600)
    recent = await add(sessions, clock, "k", {"recent": True})
    await runner.claim(100, kinds=("k",))  # `recent`, now running
    clock.advance(1800)
    async with unit_of_work(sessions) as session:  # `recent` finishes now
        await session.execute(
            update(Job).where(Job.id == recent).values(status="done", finished_at=clock.now())
        )
    before = await _ids(sessions)

    assert await runner.purge_done(older_than_s=7200) == 0  # nothing finished 2 h ago
    assert await runner.purge_done(older_than_s=3600) == 7  # the 7 finished 90 min ago
    after = await _ids(sessions)
    assert before - after == set(old)
    assert {dead, recent} <= after  # dead stays; done 30 min ago stays
    assert (await load(sessions, dead)).status == "dead"


async def test_the_loop_purges_in_the_background(sessions: Sessions, clock: FakeClock) -> None:
    runner = make_runner(
        sessions, registry_with("k", write_child), clock, poll_s=0.05, keep_done_s=60
    )
    done = await add(sessions, clock, "k")
    await runner.run_once()
    clock.advance(120)
    task = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: _gone(sessions, done), within=5)
    finally:
        await runner.stop(1)
        await task
    assert await child_count(sessions) == 1  # jobs that are not done stay


async def test_no_retention_keeps_done_jobs(sessions: Sessions, clock: FakeClock) -> None:
    runner = make_runner(sessions, registry_with("k", write_child), clock, poll_s=0.05)
    done = await add(sessions, clock, "k")
    await runner.run_once()
    clock.advance(10**7)
    task = asyncio.create_task(runner.run())
    await asyncio.sleep(0.3)
    await runner.stop(1)
    await task
    assert (await load(sessions, done)).status == "done"


def test_retention_comes_from_settings(sessions: Sessions) -> None:
    assert create_worker(Settings(), sessions)._keep_done_s == 168 * 3600
    assert create_worker(Settings(jobs_keep_done_h=0), sessions)._keep_done_s is None


async def _gone(sessions: Sessions, job_id: str | None) -> bool:
    async with sessions() as session:
        return await session.get(Job, job_id) is None
