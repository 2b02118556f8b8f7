"""SMPP benchmarks (K2, B4): the bind window, API -> SMPP end to end, paced input, and
throughput limits. The SMSC (tests/carriers/smsc.py, smpplib-built answers) runs in its
own process so it does not share the client's event loop.

    python -m bench.smpp [--engines sqlite,postgres] [-n 20000] [--paced-s 20] [--limit-s 60]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import subprocess
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import uvloop

from bench.harness import database, deploy, serve, setup_messaging, write
from bench.outbound import post_many
from smshub.carriers.base import OutboundSms, SubmitResult
from smshub.carriers.smpp.carrier import SmppCarrier
from smshub.carriers.smpp.config import SmppConfig
from smshub.carriers.smpp.link import SmppLink
from smshub.carriers.smpp.pdu import ESME_ROK, Pdu


def show(row: dict[str, Any]) -> dict[str, Any]:
    """Print a row as soon as it is measured (a long run may be cut short)."""
    print({k: round(v, 1) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    return row


# -- the SMSC in a child process ------------------------------------------------------------


def _smsc_main(conn: Connection, delay_s: float) -> None:
    from tests.carriers.smsc import Smsc

    async def main() -> None:
        smsc = Smsc(resp_delay_s=delay_s, parse_submits=False)
        port = await smsc.start()
        conn.send(port)
        loop = asyncio.get_running_loop()
        while True:
            cmd = await loop.run_in_executor(None, conn.recv)
            if cmd == "count":
                conn.send(smsc.accepted)
            elif cmd == "binds":
                conn.send(smsc.binds)
            elif cmd == "times":
                conn.send([s.at for s in smsc.submits if s.message_id])
            else:
                await smsc.stop()
                conn.send("bye")
                return

    uvloop.install()
    asyncio.run(main())


class SmscProcess:
    def __init__(self, delay_s: float = 0.0):
        self.conn, child = mp.Pipe()
        self.proc = mp.get_context("fork").Process(
            target=_smsc_main, args=(child, delay_s), daemon=True
        )
        self.proc.start()
        self.port: int = self.conn.recv()
        self._lock = threading.Lock()

    def ask(self, cmd: str) -> Any:
        with self._lock:
            self.conn.send(cmd)
            return self.conn.recv()

    def count(self) -> int:
        return int(self.ask("count"))

    def close(self) -> None:
        self.ask("stop")
        self.proc.join(5)


def smpp_config(port: int, window: int) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "system_id": "bench",
        "password": "pw",
        "window": window,
        "reconnect_min_s": 0.1,
        "submit_timeout_s": 300,
    }


# -- 1. one bind, window N, SMSC answering after 10 ms -----------------------------------------


async def _window_run(port: int, window: int, n: int) -> float:
    async def ok(_: Pdu) -> int:
        return ESME_ROK

    link = SmppLink("bench", SmppConfig.model_validate(smpp_config(port, window)), ok)
    link.start()
    assert await link.wait_bound(10)
    carrier = SmppCarrier("bench", link)
    batches = [
        [
            OutboundSms(f"m{i}", "t", "+14155550100", "+12025550123", f"bench {i}", 1)
            for i in range(start, min(n, start + 200))
        ]
        for start in range(0, n, 200)
    ]
    t0 = time.perf_counter()
    # Four batches at a time, as four send jobs would be.
    gate = asyncio.Semaphore(4)

    async def one(batch: list[OutboundSms]) -> list[Any]:
        async with gate:
            return await carrier.submit_many(None, batch)  # type: ignore[arg-type]

    results = [r for rs in await asyncio.gather(*(one(b) for b in batches)) for r in rs]
    elapsed = time.perf_counter() - t0
    await link.stop()
    assert all(isinstance(r, SubmitResult) for r in results)
    return n / elapsed


def bench_window() -> list[dict[str, Any]]:
    smsc = SmscProcess(delay_s=0.010)
    uvloop.install()  # as `smshub serve` runs
    rows = []
    try:
        for window, n in ((10, 10_000), (1, 500)):
            rate = asyncio.run(_window_run(smsc.port, window, n))
            rows.append(
                show(
                    {
                        "bench": "one bind, SMSC answers after 10 ms",
                        "window": window,
                        "messages": n,
                        "msg_per_s": rate,
                    }
                )
            )
    finally:
        smsc.close()
    return rows


# -- 2-4. through the API and a live server --------------------------------------------------


def _point_number_at_smpp(
    server_url: str, admin_key: str, number: str, port: int, window: int, throughput: int
) -> str:
    h = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=server_url, headers=h, timeout=30) as c:
        r = c.post(
            "/api/v1/connectors",
            json={
                "name": "smsc",
                "kind": "smpp",
                "throughput": throughput,
                "config": smpp_config(port, window),
            },
        )
        assert r.status_code == 201, r.text
        cid = str(r.json()["id"])
        num = c.get("/api/v1/numbers", params={"q": number}).json()["items"][0]
        r = c.patch(f"/api/v1/numbers/{num['id']}", json={"connector_id": cid})
        assert r.status_code == 200, r.text
    return cid


def _wait_count(smsc: SmscProcess, n: int, timeout: float) -> float:
    deadline = time.perf_counter() + timeout
    while smsc.count() < n:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"SMSC got {smsc.count()} of {n}")
        time.sleep(0.05)
    return time.perf_counter()


def bench_api(engine: str, n: int, paced_s: float, tmp: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for topology in ("one", "split") if engine == "postgres" else ("one",):
        smsc = SmscProcess()
        try:
            with (
                database(engine, tmp) as db_url,
                deploy(db_url, tmp, topology, start_workers=False) as hub,
            ):
                server = hub.server
                s = setup_messaging(db_url, server)
                _point_number_at_smpp(server.url, s.admin_key, s.number, smsc.port, 64, 0)
                hub.start_workers()  # a worker process binds the connector it now sees
                time.sleep(1.0)  # the settings cache (2 s TTL) picks up the new connector
                cpu0 = hub.cpu_s()
                t0 = time.perf_counter()
                asyncio.run(post_many(server.url, s.user_key, s.number, n, 32, None))
                api_s = time.perf_counter() - t0
                done = _wait_count(smsc, n, 600) - t0
                rows.append(
                    show(
                        {
                            "bench": "API -> SMPP, window 64",
                            "engine": engine,
                            "processes": "web + worker" if topology == "split" else "one",
                            "messages": n,
                            "api_msg_per_s": n / api_s,
                            "e2e_msg_per_s": n / done,
                            "server_cpu_us_per_msg": (hub.cpu_s() - cpu0) / n * 1e6,
                        }
                    )
                )
                paced = _paced(engine, server, s, smsc, paced_s)
                rows.append(show({**paced, "processes": rows[-1]["processes"]}))
        finally:
            smsc.close()
    return rows


def _paced(engine: str, server: Any, s: Any, smsc: SmscProcess, seconds: float) -> dict[str, Any]:
    """1,000 msg/s offered: sample the backlog (posted - accepted by the SMSC) each second."""
    rate, base = 1000.0, smsc.count()
    n = int(rate * seconds)
    backlog: list[int] = []
    stop = threading.Event()
    t0 = time.perf_counter()

    def sample() -> None:
        while not stop.wait(1.0):
            offered = min(n, int((time.perf_counter() - t0) * rate))
            backlog.append(offered - (smsc.count() - base))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    asyncio.run(post_many(server.url, s.user_key, s.number, n, 64, rate))
    post_s = time.perf_counter() - t0
    _wait_count(smsc, base + n, 120)
    drain_s = time.perf_counter() - t0 - post_s
    stop.set()
    sampler.join()
    half = max(1, len(backlog) // 2)
    return {
        "bench": "paced 1,000 msg/s",
        "engine": engine,
        "seconds": seconds,
        "offered_msg_per_s": n / post_s,
        "backlog_max_first_half": max(backlog[:half], default=0),
        "backlog_max_second_half": max(backlog[half:], default=0),
        "drain_after_last_post_s": drain_s,
    }


WARMUP_S = 3.0


def bench_limits(engine: str, seconds: float, tmp: Path) -> list[dict[str, Any]]:
    """The queue is filled through a web-only process first, then worker processes (two
    on PostgreSQL, sharing the connector's bucket) drain it at the configured limit, so
    the API's own speed cannot hide or help the limiter."""
    from tests.live import SMSHUB, env_for

    rows = []
    workers = int(
        os.environ.get("SMSHUB_BENCH_LIMIT_WORKERS", "2" if engine == "postgres" else "1")
    )
    for limit in (50, 200):
        smsc = SmscProcess()
        procs: list[subprocess.Popen[bytes]] = []
        try:
            with (
                database(engine, tmp) as db_url,
                serve(db_url, tmp, args=["--only", "web"]) as server,
            ):
                s = setup_messaging(db_url, server)
                _point_number_at_smpp(server.url, s.admin_key, s.number, smsc.port, 64, limit)
                n = (
                    int(limit * (seconds + WARMUP_S) * 1.15) + 100
                )  # more than the limit lets through
                asyncio.run(post_many(server.url, s.user_key, s.number, n, 32, None))
                log = (tmp / f"workers-{limit}.log").open("wb")
                procs = [
                    subprocess.Popen(
                        [SMSHUB, "serve", "--only", "worker"],
                        env=env_for(db_url),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                    for _ in range(workers)
                ]
                _wait_count(smsc, 1, 60)
                time.sleep(WARMUP_S + seconds + 1)
                times = sorted(smsc.ask("times"))
                binds = smsc.ask("binds")
                for proc in procs:
                    proc.terminate()
                for proc in procs:
                    proc.wait(30)
                log.close()
                problems = [
                    line
                    for line in (tmp / f"workers-{limit}.log").read_text().splitlines()
                    if "Error" in line or "WARNING" in line
                ]
                print(f"worker log: {len(problems)} warnings/errors", *problems[:5], sep="\n")
            # Steady state: the first seconds hold the bind-up and the first bucket.
            first = times[0] + WARMUP_S
            in_window = sum(1 for t in times if first <= t < first + seconds)
            achieved = in_window / seconds
            rows.append(
                show(
                    {
                        "bench": "configured limit",
                        "engine": engine,
                        "worker_processes": workers,
                        "smsc_binds": binds,
                        "limit_msg_per_s": limit,
                        "seconds": seconds,
                        "achieved_msg_per_s": achieved,
                        "error_pct": (achieved - limit) / limit * 100,
                    }
                )
            )
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
            smsc.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engines", default="sqlite,postgres")
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("--paced-s", type=float, default=20.0)
    ap.add_argument("--limit-s", type=float, default=60.0)
    ap.add_argument("--only", default="window,api,limits")
    args = ap.parse_args()
    only = set(args.only.split(","))
    rows: list[dict[str, Any]] = []
    if "window" in only:
        rows += bench_window()
    with tempfile.TemporaryDirectory() as d:
        engines = args.engines.split(",")
        if "api" in only:
            for engine in engines:
                rows += bench_api(engine, args.n, args.paced_s, Path(d))
        if "limits" in only:
            rows += bench_limits(engines[-1], args.limit_s, Path(d))
    write("smpp", rows)


if __name__ == "__main__":
    main()
