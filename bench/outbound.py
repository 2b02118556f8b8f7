"""Outbound: API POST /messages, then accepted by the simulator, end to end.

Measures sustained end-to-end throughput for N messages (posted as fast as the API takes
them), and API latency at a paced 500 msg/s. Prints a table and writes bench/results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, func, select

from bench.harness import (
    database,
    deploy,
    percentiles,
    postgres_cpu_s,
    setup_messaging,
    write,
)
from smshub.kit.db import sync_url
from smshub.models import Message, SimulatorOutbox


def counts(db_url: str) -> tuple[int, int]:
    engine = create_engine(sync_url(db_url))
    with engine.connect() as c:
        out = c.execute(select(func.count()).select_from(SimulatorOutbox)).scalar_one()
        done = c.execute(
            select(func.count())
            .select_from(Message)
            .where(Message.status.in_(["sent", "delivered"]))
        ).scalar_one()
    engine.dispose()
    return int(out), int(done)


async def post_many(
    url: str, key: str, number: str, n: int, concurrency: int, rate: float | None
) -> list[float]:
    """aiohttp rather than httpx: on 2 cores the client's own CPU per request matters,
    and httpx spent more CPU per request than the server did."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        base_url=url, headers=headers, connector=connector, timeout=timeout
    ) as c:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(n):
            queue.put_nowait(i)
        start = time.perf_counter()

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                if rate:
                    await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
                body = json.dumps(
                    {"from": number, "to": f"+1202555{i % 10000:04d}", "body": f"bench {i}"}
                )
                t0 = time.perf_counter()
                async with c.post("/api/v1/messages", data=body) as r:
                    text = await r.read()
                latencies.append(time.perf_counter() - t0)
                assert r.status == 202, text

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def run(
    engine: str, topology: str, n: int, concurrency: int, rate: float | None, tmp: Path
) -> dict[str, Any]:
    with database(engine, tmp) as db_url, deploy(db_url, tmp, topology) as hub:
        server = hub.server
        s = setup_messaging(db_url, server)
        cpu0, db0 = hub.cpu_s(), postgres_cpu_s()
        t0 = time.perf_counter()
        try:
            lat = asyncio.run(post_many(server.url, s.user_key, s.number, n, concurrency, rate))
        except Exception:
            # Show why the server stopped answering, not just the client's error.
            print("server exit code:", server.proc.poll())
            print(server.log.read_text()[-3000:])
            raise
        api_s = time.perf_counter() - t0
        while counts(db_url)[1] < n:
            time.sleep(0.1)
        total_s = time.perf_counter() - t0
        server_cpu, db_cpu = hub.cpu_s() - cpu0, postgres_cpu_s() - db0
        outbox, _ = counts(db_url)
        return {
            "engine": engine,
            "processes": "web + worker" if topology == "split" else "one",
            "mode": f"paced {rate:.0f}/s" if rate else "flat out",
            "messages": n,
            "api_msg_per_s": n / api_s,
            "e2e_msg_per_s": n / total_s,
            **percentiles(lat),
            "server_cpu_us_per_msg": server_cpu / n * 1e6,
            "db_cpu_us_per_msg": db_cpu / n * 1e6,
            "outbox": outbox,
            "server_rss_mb": hub.rss_mb(),
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engines", default="sqlite,postgres")
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument(
        "--topologies",
        default="one,split",
        help="one process, and (PostgreSQL only) web + worker processes",
    )
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for engine in args.engines.split(","):
            for topology in args.topologies.split(","):
                if topology == "split" and engine != "postgres":
                    continue  # SQLite is the one-process engine
                rows.append(run(engine, topology, args.n, args.concurrency, None, Path(d)))
                rows.append(run(engine, topology, min(args.n, 10000), 64, 500.0, Path(d)))
    write("outbound", rows)


if __name__ == "__main__":
    main()
