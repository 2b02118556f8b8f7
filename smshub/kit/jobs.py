"""The transactional job runner (ARCHITECTURE: jobs).

Why an outbox table: a business row and the job that finishes its work commit in one
transaction (`enqueue` writes into the caller's session), so nothing accepted is lost and
no second engine is needed.

Life of a row:

    pending --claim--> running --handler ok-----------------------> done
                          |------handler raised-------------------> pending (run_at+backoff)
                          |------attempts used up, PermanentJobError,
                          |      or no handler for the kind ------> dead
                          |------lease expired (worker crashed) ---> claimed again
                          '------graceful shutdown cancelled it ---> pending (attempt given back)

Fencing: every write the runner makes to a claimed row is conditioned on
(status = running, locked_by = this worker, attempts = the claimed attempt). Each claim
increments `attempts`, so the attempt number is a fencing token: a worker whose lease
expired and whose job was claimed again (by another worker or by itself) can no longer
mark it done, and its handler's writes roll back with the failed fence.

Delivery is at least once: after a crash or a lost lease a handler runs again, so
handlers must be idempotent (carrier submits are deduplicated by message id).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import secrets
import socket
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import ReturningInsert, ReturningUpdate

from smshub.kit.bulk import insert_rows
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.ids import new_id
from smshub.models.job import Job

log = logging.getLogger("smshub.jobs")

PENDING = "pending"
RUNNING = "running"
DONE = "done"
DEAD = "dead"

MAX_ERROR_CHARS = 4000
# How long stop() waits for cancelled jobs to unwind before it releases their claims.
CANCEL_WAIT_S = 5.0
_JOBS = cast(Table, Job.__table__)
# How often a claim also looks for jobs whose worker's lease ran out.
LEASE_CHECK_S = 1.0
# Done jobs older than the retention go in rounds of this many rows, each its own short
# transaction, so a purge never holds SQLite's write lock for long.
PURGE_BATCH = 2000

Backoff = Literal["exponential", "fixed"]


# --- retry policy (pure) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a job is tried and how long it waits in between. Stored on the row, so
    each job keeps the policy it was enqueued with. Defaults match the `jobs` columns."""

    max_attempts: int = 5
    backoff: Backoff = "exponential"
    # The base delay for exponential backoff, or the interval for fixed.
    retry_delay_s: float = 5.0
    max_delay_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff not in ("exponential", "fixed"):
            raise ValueError(f"unknown backoff {self.backoff!r}")
        for name in ("retry_delay_s", "max_delay_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0")


def next_delay(policy: RetryPolicy, attempts: int, rand: float) -> float:
    """Seconds to wait before the next try, after `attempts` tries have failed.

    exponential: the ceiling is retry_delay_s * 2**(attempts-1), capped at max_delay_s,
    and the delay is drawn from [ceiling/2, ceiling] ("equal jitter"): jobs that failed
    together (a carrier outage) spread out, yet the wait still grows with each failure.
    fixed: exactly retry_delay_s, because a fixed schedule (the legacy 30-minute callback
    retries) promises its interval. `rand` is uniform in [0, 1], passed in to stay pure.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    if not 0.0 <= rand <= 1.0:
        raise ValueError("rand must be in [0, 1]")
    if policy.backoff == "fixed":
        return policy.retry_delay_s
    # The exponent is capped so that huge attempt counts cannot overflow the float.
    ceiling = min(policy.max_delay_s, policy.retry_delay_s * 2.0 ** min(attempts - 1, 64))
    return ceiling * (0.5 + 0.5 * rand)


def truncate_error(summary: str, details: str, limit: int = MAX_ERROR_CHARS) -> str:
    """The summary line first, then as much of the end of the traceback as fits: the
    innermost frames are the ones that explain a failure."""
    summary = summary[: limit // 2]
    room = limit - len(summary) - 1
    if len(details) > room:
        details = "..." + details[len(details) - room + 3 :] if room > 3 else ""
    return f"{summary}\n{details}" if details else summary


def error_text(exc: BaseException) -> str:
    """What `last_error` stores for a failed attempt."""
    details = "".join(traceback.format_exception(exc)).rstrip()
    return truncate_error(f"{type(exc).__name__}: {exc}", details)


# --- handlers --------------------------------------------------------------------------


class PermanentJobError(Exception):
    """Raised by a handler when trying again cannot help (a malformed payload, a
    permanent carrier rejection): the job goes straight to dead."""


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a handler learns about the job it runs."""

    job_id: str
    kind: str
    payload: dict[str, Any]
    attempt: int  # 1 on the first run; also the claim's fencing token
    policy: RetryPolicy
    worker_id: str

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.policy.max_attempts


JobHandler = Callable[[AsyncSession, JobContext], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, list[JobContext]], Awaitable[None]]


class JobRegistry:
    """Job kind -> handler. Handlers write through the session they are given; it commits
    together with the job's `done` mark, so they must not commit it themselves."""

    def __init__(self) -> None:
        self._handlers: dict[str, JobHandler] = {}
        self._batches: dict[str, tuple[BatchHandler, int]] = {}

    def register_batch(self, kind: str, handler: BatchHandler, max_batch: int = 200) -> None:
        """A kind whose due jobs run up to `max_batch` at a time in ONE transaction, so
        a busy queue pays for one commit per batch instead of one per job. If the batch
        fails, its jobs run again one by one, so one bad job cannot sink the others."""

        async def single(session: AsyncSession, job: JobContext) -> None:
            await handler(session, [job])

        self.register(kind, single)
        self._batches[kind] = (handler, max(1, max_batch))

    def batches(self) -> list[tuple[str, BatchHandler, int]]:
        return [(k, h, n) for k, (h, n) in sorted(self._batches.items())]

    def register(self, kind: str, handler: JobHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"job kind {kind!r} is already registered")
        self._handlers[kind] = handler

    def handler(self, kind: str) -> Callable[[JobHandler], JobHandler]:
        """Decorator form of `register`."""

        def decorate(fn: JobHandler) -> JobHandler:
            self.register(kind, fn)
            return fn

        return decorate

    def get(self, kind: str) -> JobHandler | None:
        return self._handlers.get(kind)

    def kinds(self) -> list[str]:
        return sorted(self._handlers)

    def __contains__(self, kind: object) -> bool:
        return kind in self._handlers


# --- enqueue ---------------------------------------------------------------------------


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: Mapping[str, Any],
    *,
    policy: RetryPolicy | None = None,
    idempotency_key: str | None = None,
    run_at: datetime | None = None,
    clock: Clock | None = None,
) -> str | None:
    """Add a job to the caller's transaction: workers see it only once the caller
    commits, and it vanishes if the caller rolls back.

    Returns the job id, or None when `idempotency_key` is already taken: the duplicate is
    dropped rather than raised, so a retried request does not queue the work twice. Keys
    stay taken for as long as the row exists, whatever its status.
    """
    values = _job_values(kind, payload, policy or RetryPolicy(), idempotency_key, run_at, clock)
    if idempotency_key is None:
        await session.execute(insert(Job).values(values))
        return str(values["id"])
    stmt = _insert_unless_duplicate(session.get_bind().dialect.name, values)
    return (await session.execute(stmt)).scalar_one_or_none()


async def enqueue_many(
    session: AsyncSession,
    kind: str,
    items: Sequence[tuple[Mapping[str, Any], str | None]],
    *,
    policy: RetryPolicy | None = None,
    run_at: datetime | None = None,
    clock: Clock | None = None,
) -> None:
    """Add many jobs of one kind, as (payload, idempotency_key) pairs, with ONE bulk
    statement. Keys already taken are dropped, as in `enqueue`."""
    if not items:
        return
    rows = [_job_values(kind, p, policy or RetryPolicy(), k, run_at, clock) for p, k in items]
    await insert_rows(session, _JOBS, rows, on_conflict="ON CONFLICT (idempotency_key) DO NOTHING")


def _job_values(
    kind: str,
    payload: Mapping[str, Any],
    policy: RetryPolicy,
    idempotency_key: str | None,
    run_at: datetime | None,
    clock: Clock | None,
) -> dict[str, Any]:
    if not kind or len(kind) > 100:
        raise ValueError("job kind must be 1 to 100 characters")
    if idempotency_key is not None and not 0 < len(idempotency_key) <= 200:
        raise ValueError("idempotency_key must be 1 to 200 characters")
    now = (clock or SystemClock()).now()
    return {
        "id": new_id(),
        "kind": kind,
        "payload": dict(payload),
        "status": PENDING,
        "run_at": run_at or now,
        "attempts": 0,
        "max_attempts": policy.max_attempts,
        "backoff": policy.backoff,
        "retry_delay_s": policy.retry_delay_s,
        "max_delay_s": policy.max_delay_s,
        "idempotency_key": idempotency_key,
        "created_at": now,
    }


def _insert_unless_duplicate(dialect: str, values: dict[str, Any]) -> ReturningInsert[str]:
    """INSERT ... ON CONFLICT (idempotency_key) DO NOTHING RETURNING id: one atomic
    statement, so two concurrent enqueuers with the same key cannot both insert."""
    return _insert_skipping_taken_keys(dialect).values(values).returning(Job.id)


def _insert_skipping_taken_keys(dialect: str) -> PgInsert | SqliteInsert:
    """An INSERT into jobs that skips rows whose idempotency key is already taken."""
    if dialect == "postgresql":
        return pg_insert(Job).on_conflict_do_nothing(index_elements=["idempotency_key"])
    if dialect == "sqlite":
        return sqlite_insert(Job).on_conflict_do_nothing(index_elements=["idempotency_key"])
    raise NotImplementedError(f"idempotent enqueue is not implemented for {dialect}")


# --- the runner ------------------------------------------------------------------------


def default_worker_id() -> str:
    """host:pid:random, so the claims of each process (and of a restarted one) differ."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


@cache
def claim_statement(
    *, kinds: tuple[str, ...] = (), exclude: tuple[str, ...] = (), expired: bool = True
) -> ReturningUpdate[Any]:
    """Due jobs (pending and run_at <= :now, or, with `expired`, running with an expired
    lease) are taken in one UPDATE ... RETURNING. On PostgreSQL the sub-select locks its
    rows with FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint batches without
    waiting on each other; SQLite renders no locking clause and has one writer anyway.
    Parameters: now, worker, lease_until, limit.

    Without `expired`, the pending jobs come in order straight off ix_jobs_due (status,
    run_at, id) and the scan stops at `limit`; the OR made PostgreSQL read and sort
    every due job on each claim. Built once per shape, in Core: the ORM's bulk-update
    machinery cost more than the statement, and a statement built per call left its
    bind parameters to the cyclic garbage collector."""
    J = _JOBS.c
    now = bindparam("now", type_=J.run_at.type)
    due: ColumnElement[bool] = and_(J.status == PENDING, J.run_at <= now)
    if expired:
        due = or_(due, and_(J.status == RUNNING, J.lease_until < now))
    if kinds:
        due = and_(due, J.kind.in_(kinds))
    if exclude:
        due = and_(due, J.kind.not_in(exclude))
    ids = (
        select(J.id)
        .where(due)
        .order_by(J.run_at, J.id)
        .limit(bindparam("limit", type_=Integer()))
        .with_for_update(skip_locked=True)
    )
    return (
        update(_JOBS)
        .where(J.id.in_(ids.scalar_subquery()))
        .values(
            status=RUNNING,
            locked_by=bindparam("worker"),
            lease_until=bindparam("lease_until", type_=J.lease_until.type),
            attempts=J.attempts + 1,
        )
        .returning(*_CLAIMED_COLUMNS)
    )


_CLAIMED_COLUMNS = (
    _JOBS.c.id,
    _JOBS.c.run_at,
    _JOBS.c.kind,
    _JOBS.c.payload,
    _JOBS.c.attempts,
    _JOBS.c.max_attempts,
    _JOBS.c.backoff,
    _JOBS.c.retry_delay_s,
    _JOBS.c.max_delay_s,
)


# Jobs of one batch that are still this worker's claim (same attempt) become done.
_FENCED_DONE = (
    update(_JOBS)
    .where(
        _JOBS.c.id.in_(bindparam("ids", expanding=True)),
        _JOBS.c.attempts == bindparam("attempt"),
        _JOBS.c.status == RUNNING,
        _JOBS.c.locked_by == bindparam("worker"),
    )
    .values(
        status=DONE,
        lease_until=None,
        finished_at=bindparam("now", type_=_JOBS.c.finished_at.type),
    )
    .returning(_JOBS.c.id)
)


# Done jobs that finished before the cutoff. run_at (never later than finished_at) lets
# the due index (status, run_at, id) find them without a scan.
_PURGE_DONE = delete(_JOBS).where(
    _JOBS.c.id.in_(
        select(_JOBS.c.id)
        .where(
            _JOBS.c.status == DONE,
            _JOBS.c.run_at < bindparam("cutoff", type_=_JOBS.c.run_at.type),
            _JOBS.c.finished_at < bindparam("cutoff", type_=_JOBS.c.finished_at.type),
        )
        .limit(bindparam("limit", type_=Integer()))
        .scalar_subquery()
    )
)


def _context(row: Row[Any], worker_id: str) -> JobContext:
    # Lenient on purpose: one odd row must not make every claim fail.
    policy = RetryPolicy(
        max_attempts=max(1, row.max_attempts),
        backoff="fixed" if row.backoff == "fixed" else "exponential",
        retry_delay_s=max(0.0, row.retry_delay_s),
        max_delay_s=max(0.0, row.max_delay_s),
    )
    payload = row.payload if isinstance(row.payload, dict) else {}
    return JobContext(row.id, row.kind, payload, row.attempts, policy, worker_id)


class JobRunner:
    """Claims due jobs and runs them, at most `concurrency` at a time.

    `run()` polls every `poll_s` while the queue is idle, and claims again at once after
    a full batch. `wake()` cuts the idle wait short; the runner then lingers `linger_s`
    before it claims, so that a burst of enqueues becomes one batch. `stop(grace_s)` stops claiming,
    lets in-flight jobs finish for up to `grace_s`, then cancels the rest and releases
    their claims (pending, unlocked, with the attempt given back: a shutdown is not the
    job's fault). A SIGKILLed worker cannot release: its jobs wait out the lease and keep
    the attempt they used.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        registry: JobRegistry,
        *,
        worker_id: str | None = None,
        concurrency: int = 8,
        poll_s: float = 0.5,
        lease_s: float = 30.0,
        linger_s: float = 0.0,
        clock: Clock | None = None,
        heartbeat_s: float | None = None,
        rand: Callable[[], float] = random.random,
        keep_done_s: float | None = None,
        purge_every_s: float = 60.0,
    ) -> None:
        if concurrency < 1 or poll_s <= 0 or lease_s <= 0:
            raise ValueError("concurrency must be >= 1; poll_s and lease_s must be > 0")
        self.worker_id = worker_id or default_worker_id()
        if len(self.worker_id) > 64:
            raise ValueError("worker_id must fit jobs.locked_by (64 characters)")
        self._sessions = session_factory
        self._registry = registry
        self._concurrency = concurrency
        self._poll_s = poll_s
        self._linger_s = max(0.0, linger_s)
        self._lease_s = lease_s
        # A third of the lease: two heartbeats can fail before the lease runs out.
        self._heartbeat_s = heartbeat_s if heartbeat_s is not None else lease_s / 3
        self._clock: Clock = clock or SystemClock()
        self._rand = rand
        self._inflight: dict[asyncio.Task[None], list[JobContext]] = {}
        self._kick = asyncio.Event()
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._running = False
        self._grace_s = 0.0
        self._leases_checked_at: dict[tuple[tuple[str, ...], tuple[str, ...]], datetime] = {}
        # Done rows are history nobody reads: without a purge the table grows by one row
        # per message forever. None keeps them.
        self._keep_done_s = keep_done_s
        self._purge_every_s = purge_every_s
        self._purged_at: datetime | None = None
        self._purging: asyncio.Task[int] | None = None

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    # -- the loop --

    async def run(self) -> None:
        """Claim and run jobs until `stop()` is called or this task is cancelled (which
        cancels in-flight jobs at once and releases them)."""
        if self._running or self._stopping.is_set():
            return
        self._running = True
        self._stopped.clear()
        try:
            await self._loop()
        except asyncio.CancelledError:
            self._grace_s = 0.0
            raise
        finally:
            await self._drain()
            self._running = False
            self._stopped.set()

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop claiming; wait up to `grace_s` for in-flight jobs, then cancel and release
        them. Returns once `run()` has wound down."""
        self._grace_s = max(0.0, grace_s)
        self._stopping.set()
        self._kick.set()
        if self._running:
            await self._stopped.wait()

    def wake(self) -> None:
        """Claim now instead of at the next poll (for enqueuers in the same process,
        after their commit)."""
        self._kick.set()

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            self._maybe_purge()
            free = self._concurrency - len(self._inflight)
            if free <= 0:
                await self._wait(None)  # a finishing job kicks us
                continue
            self._kick.clear()
            full = False
            for kind, handler, size in self._registry.batches():
                if free <= 0:
                    break
                jobs = await self._claim_logged(size, kinds=(kind,))
                if jobs:
                    self._spawn_batch(jobs, handler)
                    free -= 1
                    full = full or len(jobs) == size
            if free > 0:
                claimed = await self._claim_logged(free, exclude=self._batch_kinds())
                for job in claimed:
                    self._spawn(job)
                full = full or len(claimed) == free
            if not full:  # the queue has no more due jobs: idle
                await self._wait(self._poll_s)
                if self._linger_s and not self._stopping.is_set():
                    # Let the jobs that are being enqueued right now join one batch:
                    # under load, claims of a few jobs each cost more than the jobs.
                    await asyncio.sleep(self._linger_s)

    def _maybe_purge(self) -> None:
        """Start a purge in the background when one is due (never two at once)."""
        if self._keep_done_s is None or (self._purging and not self._purging.done()):
            return
        now = self._clock.now()
        if self._purged_at and now < self._purged_at + timedelta(seconds=self._purge_every_s):
            return
        self._purged_at = now
        self._purging = asyncio.create_task(self._purge_logged(), name="jobs purge")

    async def _purge_logged(self) -> int:
        try:
            return await self.purge_done(self._keep_done_s or 0.0)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("purging done jobs failed; trying again later")
            return 0

    async def purge_done(self, older_than_s: float) -> int:
        """Delete the jobs that finished `done` more than `older_than_s` ago, in short
        rounds; returns how many went. Dead jobs stay for an operator to look at.
        Several workers may purge at once: they delete disjoint or already-gone rows."""
        cutoff = self._clock.now() - timedelta(seconds=older_than_s)
        total = 0
        while True:
            async with self._sessions() as session, session.begin():
                result = await session.execute(
                    _PURGE_DONE, {"cutoff": cutoff, "limit": PURGE_BATCH}
                )
            gone = max(0, cast(Any, result).rowcount or 0)
            total += gone
            if gone < PURGE_BATCH or self._stopping.is_set():
                break
            await asyncio.sleep(0)  # let claims and requests in between rounds
        if total:
            log.info("purged %d done jobs older than %.0f s", total, older_than_s)
        return total

    def _batch_kinds(self) -> list[str]:
        return [kind for kind, _, _ in self._registry.batches()]

    async def _wait(self, seconds: float | None) -> None:
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._kick.wait()
        self._kick.clear()

    async def _claim_logged(
        self, limit: int, *, kinds: Sequence[str] = (), exclude: Sequence[str] = ()
    ) -> list[JobContext]:
        try:
            return await self.claim(limit, kinds=kinds, exclude=exclude)
        except Exception:
            # The database may be restarting: keep the loop alive and try at the next poll.
            log.exception("claiming jobs failed")
            return []

    def _spawn(self, job: JobContext) -> None:
        task = asyncio.create_task(self.execute(job), name=f"job {job.kind} {job.job_id}")
        self._inflight[task] = [job]
        task.add_done_callback(self._on_done)

    def _spawn_batch(self, jobs: list[JobContext], handler: BatchHandler) -> None:
        task = asyncio.create_task(self.execute_batch(jobs, handler), name=f"batch {jobs[0].kind}")
        self._inflight[task] = jobs
        task.add_done_callback(self._on_done)

    def _on_done(self, task: asyncio.Task[None]) -> None:
        was_full = len(self._inflight) >= self._concurrency
        self._inflight.pop(task, None)
        if was_full:
            self._kick.set()  # a slot is free: the loop was waiting for one
        if not task.cancelled() and task.exception() is not None:
            log.error("job task crashed", exc_info=task.exception())

    async def _drain(self) -> None:
        if self._purging is not None and not self._purging.done():
            self._purging.cancel()  # its round rolls back; the next run purges again
            await asyncio.wait([self._purging])
        tasks = dict(self._inflight)
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self._grace_s)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=CANCEL_WAIT_S)
        for task in late:
            for job in tasks[task]:
                await self._release_logged(job)

    # -- stepping (tests, one-shot commands) --

    async def run_once(self) -> int:
        """Claim one batch (up to `concurrency`, plus one batch per batch kind) and run it
        to the end; returns how many jobs ran. Tests drive the runner step by step with
        this and a FakeClock."""
        total = 0
        for kind, handler, size in self._registry.batches():
            batch = await self.claim(size, kinds=(kind,))
            if batch:
                await self.execute_batch(batch, handler)
                total += len(batch)
        jobs = await self.claim(self._concurrency, exclude=self._batch_kinds())
        await asyncio.gather(*(self.execute(job) for job in jobs))
        return total + len(jobs)

    async def run_until_idle(self) -> int:
        """`run_once` until no job is due; returns how many jobs ran."""
        total = 0
        while ran := await self.run_once():
            total += ran
        return total

    # -- one job --

    async def claim(
        self, limit: int, *, kinds: Sequence[str] = (), exclude: Sequence[str] = ()
    ) -> list[JobContext]:
        """Take up to `limit` due jobs for this worker, in their own short transaction."""
        now = self._clock.now()
        # Expired leases only come from a crashed or stalled worker: look for them now
        # and then, not in every claim (per set of kinds, since each claim sees only its own).
        kinds, exclude = tuple(kinds), tuple(exclude)
        key = (kinds, exclude)
        last = self._leases_checked_at.get(key)
        expired = last is None or not last <= now < last + timedelta(seconds=LEASE_CHECK_S)
        if expired:
            self._leases_checked_at[key] = now
        stmt = claim_statement(kinds=kinds, exclude=exclude, expired=expired)
        params = {
            "now": now,
            "worker": self.worker_id,
            "lease_until": now + timedelta(seconds=self._lease_s),
            "limit": limit,
        }
        async with self._sessions() as session:
            if session.get_bind().dialect.name == "postgresql":
                # One atomic statement: no BEGIN and COMMIT round trips around it.
                await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            rows = (await session.execute(stmt, params)).all()
            await session.commit()
        # RETURNING has no order; keep the queue's order so a batch submits messages in
        # the order they were queued.
        rows = sorted(rows, key=lambda row: (row.run_at, row.id))
        return [_context(row, self.worker_id) for row in rows]

    async def execute(self, job: JobContext) -> None:
        """Run one claimed job and move it to its next state. Raises only on
        cancellation; every other failure is recorded on the row or logged."""
        handler = self._registry.get(job.kind)
        if handler is None:
            error = f"no handler registered for job kind {job.kind!r} (worker {self.worker_id})"
            await self._settle_failure(job, error, permanent=True)
            return
        heartbeat = asyncio.create_task(self._heartbeat(job))
        try:
            await self._run_and_settle(job, handler)
        finally:
            heartbeat.cancel()
            await asyncio.wait([heartbeat])

    async def execute_batch(self, jobs: list[JobContext], handler: BatchHandler) -> None:
        """Run claimed jobs of one kind in one transaction, marked done together. On any
        failure (or a lost lease) roll back and run each on its own instead."""
        try:
            async with self._sessions() as session:
                await handler(session, jobs)
                if await self._fenced_done_many(session, jobs):
                    await session.commit()
                    return
                await session.rollback()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning(
                "batch of %d %s jobs failed; running them one by one",
                len(jobs),
                jobs[0].kind,
                exc_info=True,
            )
        for job in jobs:
            await self.execute(job)

    async def _fenced_done_many(self, session: AsyncSession, jobs: list[JobContext]) -> bool:
        # One statement per attempt number (almost always one): a row-value IN over
        # (id, attempts) made SQLite scan the whole jobs table.
        by_attempt: dict[int, list[str]] = {}
        for j in jobs:
            by_attempt.setdefault(j.attempt, []).append(j.job_id)
        done = 0
        for attempt, ids in by_attempt.items():
            params = {
                "ids": ids,
                "attempt": attempt,
                "worker": self.worker_id,
                "now": self._clock.now(),
            }
            done += len((await session.execute(_FENCED_DONE, params)).all())
        return done == len(jobs)

    async def _run_and_settle(self, job: JobContext, handler: JobHandler) -> None:
        try:
            committed = await self._run_handler(job, handler)
        except PermanentJobError as exc:
            log.warning("job %s %s failed permanently: %s", job.kind, job.job_id, exc)
            await self._settle_failure(job, error_text(exc), permanent=True)
        except Exception as exc:
            log.warning("job %s %s failed", job.kind, job.job_id, exc_info=True)
            await self._settle_failure(job, error_text(exc), permanent=False)
        else:
            if not committed:
                log.warning("job %s %s: lease lost, writes rolled back", job.kind, job.job_id)

    async def _run_handler(self, job: JobContext, handler: JobHandler) -> bool:
        """The handler's writes and the `done` mark commit together or not at all. False
        when the fence failed (the lease was lost): everything is rolled back."""
        async with self._sessions() as session:
            await handler(session, job)
            done = await self._fenced_update(
                session, job, status=DONE, lease_until=None, finished_at=self._clock.now()
            )
            if done:
                await session.commit()
            else:
                await session.rollback()
            return done

    async def _settle_failure(self, job: JobContext, error: str, *, permanent: bool) -> None:
        """Schedule the retry, or bury the job, in a transaction of its own (the
        handler's has been rolled back)."""
        values: dict[str, Any] = {"last_error": error, "lease_until": None}
        if permanent or job.attempt >= job.policy.max_attempts:
            values |= {"status": DEAD, "finished_at": self._clock.now()}
        else:
            delay = next_delay(job.policy, job.attempt, self._rand())
            run_at = self._clock.now() + timedelta(seconds=delay)
            values |= {"status": PENDING, "run_at": run_at, "locked_by": None}
        try:
            async with self._sessions() as session, session.begin():
                await self._fenced_update(session, job, **values)
        except Exception:
            # The lease will expire and the job will be claimed again.
            log.exception("recording the failure of job %s failed", job.job_id)

    async def _heartbeat(self, job: JobContext) -> None:
        """Extend the lease while the handler runs, so a long job is not mistaken for a
        crashed worker's."""
        while True:
            await asyncio.sleep(self._heartbeat_s)
            lease_until = self._clock.now() + timedelta(seconds=self._lease_s)
            try:
                async with self._sessions() as session, session.begin():
                    alive = await self._fenced_update(session, job, lease_until=lease_until)
            except Exception:
                log.warning("heartbeat of job %s failed", job.job_id, exc_info=True)
                continue
            if not alive:
                # Either the handler has just finished (the fence holds the row), or the
                # lease was lost; the latter is reported when the fence fails.
                log.debug("job %s: no longer ours to extend", job.job_id)
                return

    async def _release_logged(self, job: JobContext) -> None:
        try:
            async with self._sessions() as session, session.begin():
                await self._fenced_update(
                    session,
                    job,
                    status=PENDING,
                    locked_by=None,
                    lease_until=None,
                    attempts=job.attempt - 1,
                )
            log.info("released job %s %s at shutdown", job.kind, job.job_id)
        except Exception:
            log.exception("releasing job %s failed; its lease will expire", job.job_id)

    async def _fenced_update(self, session: AsyncSession, job: JobContext, **values: Any) -> bool:
        """UPDATE the job only while this claim still holds it (see the module doc)."""
        stmt = (
            update(Job)
            .where(
                Job.id == job.job_id,
                Job.status == RUNNING,
                Job.locked_by == self.worker_id,
                Job.attempts == job.attempt,
            )
            .values(**values)
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        )
        return (await session.execute(stmt)).first() is not None
