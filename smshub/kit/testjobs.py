"""The `test.*` job kinds. They let the runner's tests drive real worker processes and
observe them from outside (through append-only log files), and are registered only when
`settings.enable_test_jobs` is on (see `smshub.worker.build_registry`).

Log lines are "<event> <job_id> <pid> <time.time()> <attempt>", written with O_APPEND and
fsynced one by one, so the file order is the order in which they happened, across
processes, and a SIGKILLed worker loses no line it wrote.
"""

from __future__ import annotations

import asyncio
import os
import time

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.kit.jobs import JobContext, JobRegistry, PermanentJobError, enqueue


def append_line(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


async def log_event(path: str, event: str, ctx: JobContext) -> None:
    line = f"{event} {ctx.job_id} {os.getpid()} {time.time():.6f} {ctx.attempt}"
    await asyncio.to_thread(append_line, path, line)


async def sleep_log(session: AsyncSession, ctx: JobContext) -> None:
    """payload {"path": str, "sleep_s": float, "child": bool}: logs start, sleeps, logs
    end. With "child", it also enqueues a `test.noop` job in its own transaction: a
    database write that must commit exactly once, together with the job's `done`."""
    path = str(ctx.payload["path"])
    await log_event(path, "start", ctx)
    await asyncio.sleep(float(ctx.payload.get("sleep_s", 0.0)))
    if ctx.payload.get("child"):
        await enqueue(session, "test.noop", {"parent": ctx.job_id})
    await log_event(path, "end", ctx)


async def fail_n(session: AsyncSession, ctx: JobContext) -> None:
    """payload {"path": str, "n": int}: logs each attempt, and fails the first n."""
    await log_event(str(ctx.payload["path"]), "attempt", ctx)
    n = int(ctx.payload["n"])
    if ctx.attempt <= n:
        raise RuntimeError(f"test.fail_n: planned failure {ctx.attempt} of {n}")


async def permanent(session: AsyncSession, ctx: JobContext) -> None:
    """Fails for good at once: the job goes straight to dead."""
    raise PermanentJobError(str(ctx.payload.get("reason", "test.permanent")))


async def noop(session: AsyncSession, ctx: JobContext) -> None:
    """Does nothing (the child of `test.sleep_log`, and a marker job)."""


def register_test_jobs(registry: JobRegistry) -> None:
    registry.register("test.sleep_log", sleep_log)
    registry.register("test.fail_n", fail_n)
    registry.register("test.permanent", permanent)
    registry.register("test.noop", noop)
