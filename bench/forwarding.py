"""Forwarding: how fast a backlog of forwards drains.

N inbound messages are stored by a web-only process (their forwards wait as jobs), then a
full `serve` starts and delivers, for each message, an email to a loopback SMTP sink, a
URL callback and a signed webhook to a loopback HTTP receiver. Reported: forwards per
second between the first and the last arrival (server start-up excluded), and the total
time including start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.harness import database, rss_mb, serve, write
from tests.live import create_tenant, free_port
from tests.peers import http_receiver, smtp_sink


def setup(db_url: str, url: str, hook: str) -> tuple[str, str]:
    tenant = create_tenant(db_url, f"Fwd {uuid.uuid4().hex[:6]}")
    key = tenant["api_key"]
    c = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    conn = c.post("/api/v1/connectors", json={"name": "sim", "kind": "simulator"}).json()
    number = c.post(
        "/api/v1/numbers", json={"e164": "+14155550100", "connector_id": conn["id"]}
    ).json()
    c.put(
        f"/api/v1/numbers/{number['id']}/forwarding",
        json={
            "emails": ["ops@example.com"],
            "url_callback": {"template": hook + "/cb?from={FROM}&msg={MESSAGE}"},
        },
    )
    c.post("/api/v1/webhooks", json={"url": hook + "/hook", "events": ["message.received"]})
    c.close()
    return key, number["e164"]


async def inject(url: str, key: str, number: str, n: int) -> None:
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as c:
        sem = asyncio.Semaphore(16)

        async def one(i: int) -> None:
            async with sem:
                body = {"from": f"+1202555{i % 10000:04d}", "to": number, "body": f"fwd {i}"}
                r = await c.post("/api/v1/simulator/inbound", json=body)
                assert r.status_code == 202, r.text

        await asyncio.gather(*(one(i) for i in range(n)))


def run(engine: str, n: int, tmp: Path) -> dict[str, Any]:
    with database(engine, tmp) as db_url, smtp_sink() as sink, http_receiver([(200, "ok")]) as peer:
        env = {
            "SMSHUB_SMTP_RELAY": sink.relay,
            "SMSHUB_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
        }
        with serve(db_url, tmp, ["--only", "web"], **env) as web:
            key, number = setup(db_url, web.url, peer.url)
            asyncio.run(inject(web.url, key, number, n))
        start = time.monotonic()
        with serve(db_url, tmp, **env) as server:
            deadline = time.monotonic() + 600
            while (len(sink.mails) < n or len(peer.requests) < 2 * n) and (
                time.monotonic() < deadline
            ):
                time.sleep(0.05)
            elapsed = time.monotonic() - start
            rss = rss_mb(server.proc.pid)
        done = len(sink.mails) + len(peer.requests)
        arrivals = sorted([*sink.handler.times, *(r.at for r in peer.requests)])
        drain = max(arrivals[-1] - arrivals[0], 1e-6) if arrivals else float("nan")
        return {
            "engine": engine,
            "messages": n,
            "forwards_expected": 3 * n,
            "forwards_delivered": done,
            "seconds_incl_startup": round(elapsed, 2),
            "drain_s": round(drain, 2),
            "forwards_per_s": round(done / drain, 1),
            "server_rss_mb": rss,
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engines", default="sqlite,postgres")
    ap.add_argument("-n", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        rows = [run(e, args.n, Path(d)) for e in args.engines.split(",")]
    write("forwarding", rows)


if __name__ == "__main__":
    main()
