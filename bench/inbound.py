"""Inbound: simulator inbound, then the `message.created` SSE event at connected clients.

Ten numbers, each shared by five extensions, with one SSE stream per extension (50
clients). Inbound messages are injected at a paced rate, round-robin over the numbers,
so each one fans out to five streams. Latency is from just before the inject request to
the event's arrival at each client. The first `--warmup` seconds of traffic (the client
opening its connections, the server's first compiles and cache fills) run at the same
rate but are left out of the percentiles; `p99_ms_with_warmup` counts them too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from bench.harness import cpu_s, database, percentiles, postgres_cpu_s, rss_mb, serve, write
from smshub.auth import service as auth_service
from smshub.kit.db import create_engine, session_factory, unit_of_work
from tests.live import create_tenant

NUMBERS, PER_NUMBER = 10, 5


def api_key(db_url: str, tenant_id: str, extension: str) -> str:
    """What `smshub apikey create` does, in this process: fifty CLI starts took minutes."""

    async def create() -> str:
        engine = create_engine(db_url)
        try:
            async with unit_of_work(session_factory(engine)) as session:
                return await auth_service.create_api_key(session, tenant_id, extension)
        finally:
            await engine.dispose()

    return asyncio.run(create())


def setup(db_url: str, url: str) -> tuple[str, list[str], list[str]]:
    tenant = create_tenant(db_url, f"Inbound {uuid.uuid4().hex[:6]}")
    c = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tenant['api_key']}"})
    c.patch("/api/v1/tenant", json={"one_number_per_extension": False})
    conn = c.post("/api/v1/connectors", json={"name": "sim", "kind": "simulator"}).json()
    numbers, keys = [], []
    for n in range(NUMBERS):
        e164 = f"+1415555{n:04d}"
        number = c.post("/api/v1/numbers", json={"e164": e164, "connector_id": conn["id"]}).json()
        ids = []
        for u in range(PER_NUMBER):
            ext = str(1000 + n * PER_NUMBER + u)
            ids.append(c.post("/api/v1/users", json={"extension": ext, "name": ext}).json()["id"])
            keys.append(api_key(db_url, tenant["tenant_id"], ext))
        c.put(f"/api/v1/numbers/{number['id']}/assignees", json={"user_ids": ids})
        numbers.append(e164)
    c.close()
    return tenant["api_key"], numbers, keys


async def listen(
    http: aiohttp.ClientSession,
    url: str,
    key: str,
    sent: dict[str, float],
    lat: list[float],
    ready: asyncio.Event,
    stop: asyncio.Event,
    warm: list[float],
    warm_n: int,
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with http.get(url + "/api/v1/events", headers=headers) as r:
        event = ""
        async for raw in r.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                event = line[6:].strip()
                if event == "ready":
                    ready.set()
            elif line.startswith("data:") and event == "message.created":
                body = json.loads(line[5:])["body"]
                if body in sent:
                    took = time.perf_counter() - sent[body]
                    (warm if int(body[3:]) < warm_n else lat).append(took)
            if stop.is_set():
                return


async def drive(
    url: str,
    admin: str,
    numbers: list[str],
    keys: list[str],
    rate: float,
    seconds: float,
    warmup: float,
) -> tuple[list[float], list[float], int]:
    """aiohttp rather than httpx for the 50 streams and the injector: on 2 cores the
    client's own CPU per event competes with the server being measured."""
    sent: dict[str, float] = {}
    lat: list[float] = []
    warm: list[float] = []
    warm_n = int(rate * warmup)
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in keys]
    timeout = aiohttp.ClientTimeout(total=None)
    async with (
        aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as sse,
        aiohttp.ClientSession(
            base_url=url,
            headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
            connector=aiohttp.TCPConnector(limit=32),
            timeout=aiohttp.ClientTimeout(total=60),
        ) as c,
    ):
        tasks = [
            asyncio.create_task(listen(sse, url, k, sent, lat, e, stop, warm, warm_n))
            for k, e in zip(keys, readies, strict=True)
        ]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in readies)), 30)
        n = warm_n + int(rate * seconds)
        start = time.perf_counter()

        async def one(i: int) -> None:
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            body = f"in-{i}"
            data = json.dumps(
                {"from": f"+1202555{i % 10000:04d}", "to": numbers[i % len(numbers)], "body": body}
            )
            sent[body] = time.perf_counter()
            async with c.post("/api/v1/simulator/inbound", data=data) as r:
                text = await r.read()
            assert r.status == 202, text

        await asyncio.gather(*(one(i) for i in range(n)))
        deadline = time.perf_counter() + 10
        while len(lat) + len(warm) < n * PER_NUMBER and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return lat, warm, (n - warm_n) * PER_NUMBER


def run(engine: str, rate: float, seconds: float, warmup: float, tmp: Path) -> dict[str, Any]:
    with database(engine, tmp) as db_url, serve(db_url, tmp) as server:
        admin, numbers, keys = setup(db_url, server.url)
        cpu0, db0 = cpu_s(server.proc.pid), postgres_cpu_s()
        lat, warm, expected = asyncio.run(
            drive(server.url, admin, numbers, keys, rate, seconds, warmup)
        )
        n = int(rate * (seconds + warmup))
        server_cpu, db_cpu = cpu_s(server.proc.pid) - cpu0, postgres_cpu_s() - db0
        return {
            "engine": engine,
            "rate_msg_per_s": rate,
            "clients": len(keys),
            "events_expected": expected,
            "events_received": len(lat),
            **percentiles(lat),
            "p99_ms_with_warmup": percentiles(lat + warm)["p99_ms"],
            "server_cpu_us_per_msg": server_cpu / n * 1e6,
            "db_cpu_us_per_msg": db_cpu / n * 1e6,
            "server_rss_mb": rss_mb(server.proc.pid),
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engines", default="sqlite,postgres")
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        rows = [
            run(e, args.rate, args.seconds, args.warmup, Path(d)) for e in args.engines.split(",")
        ]
    write("inbound", rows)


if __name__ == "__main__":
    main()
