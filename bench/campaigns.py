"""Campaigns: CSV import against a large blocklist, and dispatch pacing.

1. Import a 100,000-row CSV into a list (validation, deduplication, blocklist check)
   with 1,000,000 blocklist entries in the tenant. Reports wall time and the server's
   RSS before, after and at peak (VmHWM) to show that memory stays flat.
2. Dispatch at a configured 100 and 500 msg/s over a fixed window. The achieved rate is
   measured from the dispatcher's queue times (`campaign_sends.at`) and from the
   simulated network's receive times, as the least-squares slope of count over time.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, insert, select, text

from bench.harness import database, serve, setup_messaging, wait_until, write
from smshub.kit.db import sync_url
from smshub.kit.ids import new_id
from smshub.models import BlocklistEntry, CampaignSend, SimulatorOutbox, Tenant
from tests.live import SMSHUB, env_for

AREAS = ["202", "212", "213", "312", "415", "617", "702", "305", "404", "503"]


def status_kb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def csv_numbers(n: int) -> list[str]:
    return [f"+1{AREAS[i % len(AREAS)]}555{(i // len(AREAS)):04d}" for i in range(n)]


def seed_blocklist(db_url: str, tenant_id: str, total: int, overlap: list[str]) -> float:
    t0 = time.monotonic()
    engine = create_engine(sync_url(db_url))
    now = datetime.now(UTC)
    synthetic = (f"+1202{2000000 + i:07d}" for i in range(total - len(overlap)))
    batch: list[dict[str, Any]] = []
    with engine.begin() as c:
        for e164 in [*overlap, *synthetic]:
            batch.append(
                {
                    "id": new_id(),
                    "tenant_id": tenant_id,
                    "e164": e164,
                    "source": "manual",
                    "created_at": now,
                }
            )
            if len(batch) == 20000:
                c.execute(insert(BlocklistEntry), batch)
                batch = []
        if batch:
            c.execute(insert(BlocklistEntry), batch)
    if not db_url.startswith("sqlite"):
        # A long-lived table has statistics; a freshly seeded one must get them, or the
        # planner takes 1,000,000 rows for an empty table and scans it per lookup.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ANALYZE blocklist"))
    engine.dispose()
    return time.monotonic() - t0


def tenant_id_of(db_url: str) -> str:
    engine = create_engine(sync_url(db_url))
    with engine.connect() as c:
        tid = str(c.execute(select(Tenant.id)).scalar_one())
    engine.dispose()
    return tid


def bench_import(engine: str, rows: int, blocklist: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, database(engine, Path(tmp)) as url:
        from smshub.kit.migrate import upgrade

        upgrade(url)
        with serve(url, Path(tmp), ["--only", "web"]) as server:
            s = setup_messaging(url, server, users=1)
            numbers = csv_numbers(rows - rows // 50)
            seeded = seed_blocklist(url, tenant_id_of(url), blocklist, numbers[::10])
            lines = [f"{n};Name {i};City" for i, n in enumerate(numbers)]
            lines += [f"not-a-number-{i};X;Y" for i in range(rows // 100)]
            lines += [f"{numbers[i]};Dup;Z" for i in range(rows // 100)]
            body = ("\ufeffnumber;first_name;city\r\n" + "\r\n".join(lines) + "\r\n").encode()
            c = httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {s.admin_key}"}, timeout=600
            )
            list_id = c.post("/api/v1/lists", json={"name": "Big"}).json()["id"]
            pid = server.proc.pid
            rss_before = status_kb(pid, "VmRSS")
            t0 = time.monotonic()
            r = c.post(
                f"/api/v1/lists/{list_id}/import", files={"file": ("big.csv", body, "text/csv")}
            )
            elapsed = time.monotonic() - t0
            assert r.status_code == 200, r.text[:500]
            report = r.json()
            return {
                "engine": engine,
                "rows": len(lines),
                "blocklist": blocklist,
                "seconds": elapsed,
                "rows_per_s": len(lines) / elapsed,
                "imported": report["imported"],
                "rejected": report["rejected_total"],
                "blocklisted": report["blocklisted"],
                "rss_before_mb": rss_before,
                "rss_after_mb": status_kb(pid, "VmRSS"),
                "rss_peak_mb": status_kb(pid, "VmHWM"),
                "csv_mb": len(body) / 1e6,
                "seed_s": seeded,
            }


def rate_of(times: list[datetime]) -> float:
    """The least-squares slope of messages against time: the sustained rate, not swayed
    by when the first or last batch happened to land."""
    if len(times) < 2:
        return 0.0
    t0 = min(times)
    xs = sorted((t - t0).total_seconds() for t in times)
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, (n - 1) / 2
    var = sum((x - mean_x) ** 2 for x in xs)
    cov = sum((x - mean_x) * (i - mean_y) for i, x in enumerate(xs))
    return cov / var if var else 0.0


@contextmanager
def extra_workers(url: str, count: int) -> Iterator[None]:
    """`serve --only worker` processes next to the server (PostgreSQL scale-out)."""
    procs = [
        subprocess.Popen(
            [SMSHUB, "serve", "--only", "worker"],
            env=env_for(url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(15)


def bench_dispatch(engine: str, rate: int, seconds: float, workers: int = 0) -> dict[str, Any]:
    n = int(rate * seconds)
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(engine, Path(tmp)) as url,
        serve(url, Path(tmp)) as server,
        extra_workers(url, workers if engine != "sqlite" else 0),
    ):
        s = setup_messaging(url, server, users=1, delay_s=0.05)
        c = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {s.admin_key}"}, timeout=300
        )
        csv = "number\n" + "\n".join(csv_numbers(n)) + "\n"
        r = c.post(
            "/api/v1/campaigns/import",
            data={"name": f"Rate {rate}", "from": s.number, "body": "Hello", "rate": str(rate)},
            files={"file": ("r.csv", csv.encode())},
        )
        campaign = r.json()
        t0 = time.monotonic()
        c.post(f"/api/v1/campaigns/{campaign['id']}/start")
        ok = wait_until(
            lambda: c.get(f"/api/v1/campaigns/{campaign['id']}").json()["status"] == "completed",
            timeout=seconds * 4 + 60,
        )
        wall = time.monotonic() - t0
        wait_until(lambda: outbox_count(url) >= n, timeout=60)
        queued, received = times_of(url)
        achieved = rate_of(queued)
        return {
            "engine": engine,
            "workers": 1 + (workers if engine != "sqlite" else 0),
            "target_per_s": rate,
            "recipients": n,
            "completed": ok,
            "wall_s": wall,
            "dispatch_per_s": achieved,
            "error_pct": abs(achieved - rate) / rate * 100,
            "network_per_s": rate_of(received),
            "received": len(received),
        }


def outbox_count(url: str) -> int:
    engine = create_engine(sync_url(url))
    with engine.connect() as c:
        n = int(c.execute(select(func.count()).select_from(SimulatorOutbox)).scalar_one())
    engine.dispose()
    return n


def times_of(url: str) -> tuple[list[datetime], list[datetime]]:
    engine = create_engine(sync_url(url))
    with engine.connect() as c:
        queued = list(c.execute(select(CampaignSend.at)).scalars())
        received = list(c.execute(select(SimulatorOutbox.at)).scalars())
    engine.dispose()
    return queued, received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--blocklist", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rates", default="100,500")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument(
        "--pg-workers", default="0", help="Extra worker processes on PostgreSQL, e.g. 0,1."
    )
    parser.add_argument("--skip-dispatch", action="store_true")
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    if not args.skip_import:
        write("campaign_import", [bench_import(e, args.rows, args.blocklist) for e in engines])
    if not args.skip_dispatch:
        rates = [int(r) for r in args.rates.split(",")]
        write(
            "campaign_dispatch",
            [
                bench_dispatch(e, rate, args.seconds, int(w))
                for e in engines
                for w in (args.pg_workers.split(",") if e != "sqlite" else ["0"])
                for rate in rates
            ],
        )


if __name__ == "__main__":
    main()
