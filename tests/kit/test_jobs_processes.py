"""The job runner in real worker processes (`python -m smshub.worker`): crashes, restarts,
several workers, signals. The `test.*` kinds (smshub.kit.testjobs) write an append-only
log, so what each process did is visible from here, in the order it happened."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from smshub.kit.db import unit_of_work
from smshub.kit.jobs import RetryPolicy, enqueue
from smshub.models.job import Job

ROOT = Path(__file__).resolve().parents[2]
# A hard bound: each test normally takes 1-8 s; teardown kills leftover workers.
pytestmark = pytest.mark.timeout(60)
Sessions = async_sessionmaker[AsyncSession]


# --- worker processes --------------------------------------------------------------------


@dataclass
class Workers:
    """Starts worker processes on the test database and kills what is left at the end."""

    db_url: str
    tmp: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, **env: str | float) -> subprocess.Popen[bytes]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SMSHUB_")}
        environ |= {
            "SMSHUB_DATABASE_URL": self.db_url,
            "SMSHUB_ENABLE_TEST_JOBS": "1",
            "SMSHUB_WORKER_POLL_S": "0.05",
            "SMSHUB_WORKER_CONCURRENCY": "4",
            "SMSHUB_JOB_LEASE_S": "30",
            "PYTHONUNBUFFERED": "1",
        }
        environ |= {f"SMSHUB_{k.upper()}": str(v) for k, v in env.items()}
        out = self.tmp / f"worker-{len(self.procs)}.out"
        with out.open("wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "smshub.worker"],
                env=environ,
                cwd=ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        self.procs.append(proc)
        return proc

    def output(self, proc: subprocess.Popen[bytes]) -> str:
        out = self.tmp / f"worker-{self.procs.index(proc)}.out"
        return out.read_text(errors="replace")

    def ready(self, proc: subprocess.Popen[bytes]) -> bool:
        assert proc.poll() is None, self.output(proc)
        return " started; job kinds:" in self.output(proc)

    def signal(self, proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        proc.send_signal(sig)

    def wait(self, proc: subprocess.Popen[bytes], within: float) -> int:
        return proc.wait(timeout=within)

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def workers(clean_db: str, tmp_path: Path) -> Iterator[Workers]:
    w = Workers(clean_db, tmp_path)
    try:
        yield w
    finally:
        w.kill_all()


async def until(check: Callable[[], bool | Awaitable[bool]], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def started(workers: Workers, *procs: subprocess.Popen[bytes]) -> None:
    await until(lambda: all(workers.ready(p) for p in procs), within=20)


# --- the database and the logs -----------------------------------------------------------


async def add(sessions: Sessions, kind: str, payload: dict[str, object], **kw) -> str:
    async with unit_of_work(sessions) as session:
        job_id = await enqueue(session, kind, payload, **kw)
    assert job_id is not None
    return job_id


async def add_many(sessions: Sessions, kind: str, payloads: list[dict[str, object]]) -> list[str]:
    ids = []
    async with unit_of_work(sessions) as session:
        for payload in payloads:
            job_id = await enqueue(session, kind, payload)
            assert job_id is not None
            ids.append(job_id)
    return ids


async def jobs(sessions: Sessions, kind: str | None = None) -> list[Job]:
    stmt = select(Job) if kind is None else select(Job).where(Job.kind == kind)
    async with sessions() as session:
        return list((await session.execute(stmt)).scalars())


async def statuses(sessions: Sessions, ids: list[str]) -> Counter[str]:
    async with sessions() as session:
        rows = await session.execute(select(Job.status).where(Job.id.in_(ids)))
        return Counter(rows.scalars())


def all_in(status: str, sessions: Sessions, ids: list[str]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await statuses(sessions, ids))[status] == len(ids)

    return check


async def children_per_parent(sessions: Sessions) -> Counter[str]:
    async with sessions() as session:
        rows = await session.execute(
            select(Job.payload).where(Job.kind == "test.noop").order_by(Job.id)
        )
        return Counter(str(p["parent"]) for p in rows.scalars())


@dataclass(frozen=True)
class Event:
    event: str
    job_id: str
    pid: int
    at: float
    attempt: int


def read_log(path: Path) -> list[Event]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        event, job_id, pid, at, attempt = line.split()
        events.append(Event(event, job_id, int(pid), float(at), int(attempt)))
    return events


def by_job(events: list[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        grouped[e.job_id].append(e)
    return grouped


def count_events(path: Path, event: str) -> int:
    return sum(e.event == event for e in read_log(path))


# --- tests ----------------------------------------------------------------------------------


async def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(
    workers: Workers, sessions: Sessions, tmp_path: Path
) -> None:
    proc = workers.start()
    await started(workers, proc)
    lost = tmp_path / "rolled_back.log"
    kept = tmp_path / "committed.log"
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessions) as session:
            await enqueue(session, "test.sleep_log", {"path": str(lost)})
            raise RuntimeError("the business write failed")
    marker = await add(sessions, "test.sleep_log", {"path": str(kept)})
    await until(all_in("done", sessions, [marker]))
    assert [j.id for j in await jobs(sessions)] == [marker]
    assert count_events(kept, "end") == 1
    assert not lost.exists()


async def test_a_sigkilled_worker_loses_nothing(
    workers: Workers, sessions: Sessions, tmp_path: Path
) -> None:
    """Kill -9 mid-batch, restart: every job ends done, its database write committed
    exactly once, and the jobs that were cut short ran again."""
    log = tmp_path / "run.log"
    payload = {"path": str(log), "sleep_s": 0.3, "child": True}
    ids = await add_many(sessions, "test.sleep_log", [payload] * 20)
    first = workers.start(job_lease_s=1)
    await until(lambda: count_events(log, "start") >= 6)
    workers.signal(first, signal.SIGKILL)
    workers.wait(first, within=10)
    at_kill = by_job(read_log(log))
    cut_short = {j for j, ev in at_kill.items() if not any(e.event == "end" for e in ev)}
    assert cut_short, "the kill landed while jobs were running"

    second = workers.start(job_lease_s=1)
    await until(all_in("done", sessions, ids), within=20)
    assert second.poll() is None

    assert await children_per_parent(sessions) == Counter(dict.fromkeys(ids, 1))
    runs = by_job(read_log(log))
    assert set(runs) == set(ids)
    for job_id in cut_short:
        starts = [e for e in runs[job_id] if e.event == "start"]
        assert len(starts) >= 2
        assert {e.pid for e in starts} == {first.pid, second.pid}
        assert runs[job_id][-1].event == "end"
        assert runs[job_id][-1].pid == second.pid
    for job in await jobs(sessions, "test.sleep_log"):
        assert job.status == "done"
        # a claim can die before its handler logged "start", so >=
        assert job.attempts >= sum(e.event == "start" for e in runs[job.id])


async def test_two_workers_never_run_the_same_job_at_once(
    workers: Workers, sessions: Sessions, tmp_path: Path
) -> None:
    log = tmp_path / "run.log"
    a = workers.start(worker_concurrency=8)
    b = workers.start(worker_concurrency=8)
    await started(workers, a, b)
    ids = await add_many(sessions, "test.sleep_log", [{"path": str(log), "sleep_s": 0.02}] * 200)
    await until(all_in("done", sessions, ids), within=25)

    events = read_log(log)
    runs = by_job(events)
    assert set(runs) == set(ids)
    for job_id, ev in runs.items():
        # in file order: one start, then its end, from one process
        assert [e.event for e in ev] == ["start", "end"], job_id
        assert ev[0].pid == ev[1].pid
        assert ev[0].at <= ev[1].at
    pids = Counter(e.pid for e in events if e.event == "end")
    assert set(pids) == {a.pid, b.pid}, pids  # both did work: the claims really raced
    for job in await jobs(sessions):
        assert job.attempts == 1


async def test_retries_follow_fixed_and_exponential_backoff(
    workers: Workers, sessions: Sessions, tmp_path: Path
) -> None:
    fixed_log, exp_log = tmp_path / "fixed.log", tmp_path / "exp.log"
    fixed = await add(
        sessions,
        "test.fail_n",
        {"path": str(fixed_log), "n": 2},
        policy=RetryPolicy(max_attempts=5, backoff="fixed", retry_delay_s=0.5),
    )
    exponential = await add(
        sessions,
        "test.fail_n",
        {"path": str(exp_log), "n": 3},
        policy=RetryPolicy(max_attempts=5, retry_delay_s=0.3, max_delay_s=10),
    )
    proc = workers.start()
    await until(all_in("done", sessions, [fixed, exponential]), within=20)
    assert proc.poll() is None

    slack = 1.5  # polling, claiming, process scheduling
    fixed_at = [e.at for e in read_log(fixed_log)]
    assert [e.attempt for e in read_log(fixed_log)] == [1, 2, 3]
    for gap in (b - a for a, b in itertools.pairwise(fixed_at)):
        assert 0.5 <= gap < 0.5 + slack
    exp_at = [e.at for e in read_log(exp_log)]
    assert [e.attempt for e in read_log(exp_log)] == [1, 2, 3, 4]
    for ceiling, gap in zip(
        [0.3, 0.6, 1.2], (b - a for a, b in itertools.pairwise(exp_at)), strict=True
    ):
        assert ceiling / 2 <= gap < ceiling + slack
    for job in await jobs(sessions):
        assert job.last_error is not None  # kept from the last failed attempt
        assert "planned failure" in job.last_error


async def test_dead_after_max_attempts_and_permanent_errors(
    workers: Workers, sessions: Sessions, tmp_path: Path
) -> None:
    log = tmp_path / "dead.log"
    doomed = await add(
        sessions,
        "test.fail_n",
        {"path": str(log), "n": 100},
        policy=RetryPolicy(max_attempts=3, backoff="fixed", retry_delay_s=0.1),
    )
    permanent = await add(sessions, "test.permanent", {"reason": "no such number"})
    unknown = await add(sessions, "test.no_such_kind", {})
    workers.start()
    await until(all_in("dead", sessions, [doomed, permanent, unknown]), within=20)
    found = {j.id: j for j in await jobs(sessions)}
    assert [found[i].attempts for i in (doomed, permanent, unknown)] == [3, 1, 1]
    assert [e.attempt for e in read_log(log)] == [1, 2, 3]
    errors = [found[i].last_error or "" for i in (doomed, permanent, unknown)]
    assert errors[0].startswith("RuntimeError: test.fail_n: planned failure 3")
    assert errors[1].startswith("PermanentJobError: no such number")
    assert "no handler registered for job kind 'test.no_such_kind'" in errors[2]


async def test_idempotency_key_dedupes_across_transactions(
    workers: Workers, sessions: Sessions, tmp_path: Path
) -> None:
    log = tmp_path / "once.log"
    first = await add(sessions, "test.sleep_log", {"path": str(log)}, idempotency_key="msg-42")
    async with unit_of_work(sessions) as session:
        again = await enqueue(
            session, "test.sleep_log", {"path": str(log)}, idempotency_key="msg-42"
        )
    assert again is None
    workers.start()
    await until(all_in("done", sessions, [first]))
    async with unit_of_work(sessions) as session:  # still taken after the job ran
        assert await enqueue(session, "test.noop", {}, idempotency_key="msg-42") is None
    assert len(await jobs(sessions)) == 1
    assert count_events(log, "start") == 1


async def test_sigterm_lets_the_running_job_finish(
    workers: Workers, sessions: Sessions, tmp_path: Path
) -> None:
    log = tmp_path / "graceful.log"
    job_id = await add(
        sessions, "test.sleep_log", {"path": str(log), "sleep_s": 1.0, "child": True}
    )
    proc = workers.start(shutdown_grace_s=10)
    await until(lambda: count_events(log, "start") == 1)
    workers.signal(proc, signal.SIGTERM)
    assert workers.wait(proc, within=15) == 0, workers.output(proc)
    assert (await statuses(sessions, [job_id]))["done"] == 1
    assert await children_per_parent(sessions) == Counter({job_id: 1})
    assert count_events(log, "end") == 1


async def test_sigterm_releases_a_job_that_outlives_the_grace(
    workers: Workers, sessions: Sessions, tmp_path: Path
) -> None:
    log = tmp_path / "released.log"
    job_id = await add(
        sessions, "test.sleep_log", {"path": str(log), "sleep_s": 2.0, "child": True}
    )
    proc = workers.start(shutdown_grace_s=0.2)
    await until(lambda: count_events(log, "start") == 1)
    workers.signal(proc, signal.SIGTERM)
    assert workers.wait(proc, within=10) == 0, workers.output(proc)
    [job] = await jobs(sessions, "test.sleep_log")
    assert (job.status, job.attempts, job.locked_by, job.lease_until) == ("pending", 0, None, None)
    assert await children_per_parent(sessions) == Counter()
    assert count_events(log, "end") == 0  # it did not wait out the 2 s job

    workers.start()  # nothing was lost: the next worker runs it at once (no lease wait)
    await until(all_in("done", sessions, [job_id]), within=15)
    assert await children_per_parent(sessions) == Counter({job_id: 1})
    assert [e.event for e in read_log(log)] == ["start", "start", "end"]
    assert [e.attempt for e in read_log(log)] == [1, 1, 1]


async def test_a_worker_in_another_process_starts_a_new_job_at_once_on_postgres(
    workers: Workers, sessions: Sessions, tmp_path: Path, clean_db: str
) -> None:
    """The jobs trigger (migration 0011) NOTIFYs, and the worker LISTENs: a job queued by
    another process (here, the test) starts within moments, not at the worker's next
    poll, which is set to a minute. On SQLite (one process) there is nothing to hear."""
    if not clean_db.startswith("postgres"):
        pytest.skip("cross-process wake-up is PostgreSQL's")
    proc = workers.start(worker_poll_s=60)
    await started(workers, proc)
    await asyncio.sleep(0.5)  # past the first claim, into the minute-long idle wait
    for round_ in range(2):
        done = tmp_path / f"woken-{round_}.log"
        queued = time.time()
        job = await add(sessions, "test.sleep_log", {"path": str(done)})
        await until(all_in("done", sessions, [job]), within=10)
        started_at = next(e.at for e in read_log(done) if e.event == "start")
        assert started_at - queued < 5, workers.output(proc)
