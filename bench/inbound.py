"""Inbound: simulator inbound, then the `message.created` SSE event at connected clients.

Ten numbers, each shared by five extensions, with one SSE stream per extension (50
clients). Inbound messages are injected at a paced rate, round-robin over the numbers,
so each one fans out to five streams. Latency is from just before the inject request to
the event's arrival at each client.
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

import httpx

from bench.harness import database, percentiles, rss_mb, serve, write
from tests.live import cli, create_tenant

NUMBERS, PER_NUMBER = 10, 5


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
            out = cli(
                db_url,
                "apikey",
                "create",
                "--tenant-id",
                tenant["tenant_id"],
                "--extension",
                ext,
                "--json",
            )
            keys.append(json.loads(out)["api_key"])
        c.put(f"/api/v1/numbers/{number['id']}/assignees", json={"user_ids": ids})
        numbers.append(e164)
    c.close()
    return tenant["api_key"], numbers, keys


async def listen(
    url: str,
    key: str,
    sent: dict[str, float],
    lat: list[float],
    ready: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    async with (
        httpx.AsyncClient(timeout=None) as c,
        c.stream("GET", url + "/api/v1/events", headers={"Authorization": f"Bearer {key}"}) as r,
    ):
        event = ""
        async for line in r.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
                if event == "ready":
                    ready.set()
            elif line.startswith("data:") and event == "message.created":
                body = json.loads(line[5:])["body"]
                if body in sent:
                    lat.append(time.perf_counter() - sent[body])
            if stop.is_set():
                return


async def drive(
    url: str, admin: str, numbers: list[str], keys: list[str], rate: float, seconds: float
) -> tuple[list[float], int]:
    sent: dict[str, float] = {}
    lat: list[float] = []
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in keys]
    tasks = [
        asyncio.create_task(listen(url, k, sent, lat, e, stop))
        for k, e in zip(keys, readies, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in readies)), 30)
    n = int(rate * seconds)
    async with httpx.AsyncClient(
        base_url=url,
        headers={"Authorization": f"Bearer {admin}"},
        limits=httpx.Limits(max_connections=32),
    ) as c:
        start = time.perf_counter()

        async def one(i: int) -> None:
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            body = f"in-{i}"
            sent[body] = time.perf_counter()
            r = await c.post(
                "/api/v1/simulator/inbound",
                json={
                    "from": f"+1202555{i % 10000:04d}",
                    "to": numbers[i % len(numbers)],
                    "body": body,
                },
            )
            assert r.status_code == 202, r.text

        await asyncio.gather(*(one(i) for i in range(n)))
    deadline = time.perf_counter() + 10
    while len(lat) < n * PER_NUMBER and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return lat, n * PER_NUMBER


def run(engine: str, rate: float, seconds: float, tmp: Path) -> dict[str, Any]:
    with database(engine, tmp) as db_url, serve(db_url, tmp) as server:
        admin, numbers, keys = setup(db_url, server.url)
        lat, expected = asyncio.run(drive(server.url, admin, numbers, keys, rate, seconds))
        return {
            "engine": engine,
            "rate_msg_per_s": rate,
            "clients": len(keys),
            "events_expected": expected,
            "events_received": len(lat),
            **percentiles(lat),
            "server_rss_mb": rss_mb(server.proc.pid),
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engines", default="sqlite,postgres")
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        rows = [run(e, args.rate, args.seconds, Path(d)) for e in args.engines.split(",")]
    write("inbound", rows)


if __name__ == "__main__":
    main()
