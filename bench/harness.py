"""Shared pieces of the benchmarks: a live server, a tenant set up for messaging,
latency percentiles and result files."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from smshub.kit.db import sync_url  # noqa: E402
from tests.live import Server, create_tenant, serve  # noqa: E402

PG_ADMIN = os.environ.get(
    "SMSHUB_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def database(engine: str, tmp: Path) -> Iterator[str]:
    """A fresh SQLite file or PostgreSQL database, dropped afterwards."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp}/bench-{uuid.uuid4().hex[:6]}.db"
        return
    name = f"smshub_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(sync_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(sync_url(PG_ADMIN)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Setup:
    server: Server
    admin_key: str
    user_key: str
    number: str
    connector_id: str


def setup_messaging(db_url: str, server: Server, users: int = 1, delay_s: float = 0.5) -> Setup:
    """A tenant with a simulator, one number and `users` extensions sharing it."""
    from smshub.kit.migrate import upgrade

    upgrade(db_url)
    tenant = create_tenant(db_url, f"Bench {uuid.uuid4().hex[:6]}")
    h = {"Authorization": f"Bearer {tenant['api_key']}"}
    c = httpx.Client(base_url=server.url, headers=h, timeout=30)
    conn = c.post(
        "/api/v1/connectors",
        json={"name": "sim", "kind": "simulator", "config": {"delivery_delay_s": delay_s}},
    ).json()
    number = c.post(
        "/api/v1/numbers", json={"e164": "+14155550100", "connector_id": conn["id"]}
    ).json()
    c.patch("/api/v1/tenant", json={"one_number_per_extension": False, "max_segments": 10})
    ids = [
        c.post("/api/v1/users", json={"extension": str(300 + i), "name": f"U{i}"}).json()["id"]
        for i in range(users)
    ]
    r = c.put(f"/api/v1/numbers/{number['id']}/assignees", json={"user_ids": ids})
    assert r.status_code == 200, r.text
    from tests.live import cli

    key = json.loads(
        cli(
            db_url,
            "apikey",
            "create",
            "--tenant-id",
            tenant["tenant_id"],
            "--extension",
            "300",
            "--json",
        )
    )["api_key"]
    c.close()
    return Setup(server, tenant["api_key"], key, number["e164"], conn["id"])


@dataclass
class Deployment:
    """The web process, and the worker processes beside it when split."""

    server: Server
    topology: str
    db_url: str
    tmp: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [self.server.proc.pid, *(w.pid for w in self.workers)]

    def cpu_s(self) -> float:
        return sum(cpu_s(pid) for pid in self.pids)

    def rss_mb(self) -> float:
        return sum(rss_mb(pid) for pid in self.pids)

    def start_workers(self) -> None:
        """Start the topology's worker processes and wait until they claim."""
        from tests.live import SMSHUB, env_for

        logs = []
        for i in range(TOPOLOGIES[self.topology] - len(self.workers)):
            log = self.tmp / f"worker-{self.server.proc.pid}-{i}.log"
            with log.open("wb") as out:
                self.workers.append(
                    subprocess.Popen(
                        [SMSHUB, "serve", "--only", "worker"],
                        env=env_for(self.db_url),
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            logs.append(log)
        ready = lambda: all("started; job kinds" in log.read_text() for log in logs)  # noqa: E731
        if not wait_until(ready, 30):
            raise RuntimeError("worker not ready: " + logs[0].read_text()[-2000:])

    def stop_workers(self) -> None:
        for w in self.workers:
            w.terminate()
        for w in self.workers:
            try:
                w.wait(15)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait(5)


TOPOLOGIES = {"one": 0, "split": 1}


@contextmanager
def deploy(
    db_url: str, tmp: Path, topology: str = "one", start_workers: bool = True
) -> Iterator[Deployment]:
    """`one`: `smshub serve`, everything in one process (the embedded default).
    `split`: `serve --only web` and `serve --only worker` (PostgreSQL's scale-out), so the
    two cores both run Python: the API in one process, sending in the other. Without
    `start_workers`, the caller starts them (after it has set up connectors, say)."""
    args = ["--only", "web"] if TOPOLOGIES[topology] else []
    with serve(db_url, tmp, args=args) as server:
        hub = Deployment(server, topology, db_url, tmp)
        try:
            if start_workers:
                hub.start_workers()
            yield hub
        finally:
            hub.stop_workers()


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    s = sorted(samples)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]  # noqa: E731
    return {
        "p50_ms": pick(0.5) * 1000,
        "p95_ms": pick(0.95) * 1000,
        "p99_ms": pick(0.99) * 1000,
        "mean_ms": statistics.fmean(s) * 1000,
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def write(name: str, rows: list[dict[str, Any]]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(rows, indent=2))
    keys = list(dict.fromkeys(k for r in rows for k in r))
    print(f"\n== {name}")
    print(" | ".join(keys))
    for r in rows:
        print(
            " | ".join(
                f"{r.get(k):.1f}" if isinstance(r.get(k), float) else str(r.get(k)) for k in keys
            )
        )


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (robust to a busy machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_s() -> float:
    """CPU seconds of every postgres process (backends die with their connection, so
    take deltas over a run while the server keeps its pool)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() == "postgres":
                total += cpu_s(int(proc.name))
        except OSError:
            continue
    return total


def wait_until(predicate: Any, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


__all__ = ["Server", "serve", "subprocess"]
