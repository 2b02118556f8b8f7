"""A `serve` process SIGKILLed in the middle of 5,000 queued sends loses nothing and
duplicates nothing: after a restart every message ends sent or delivered, and the
simulated network received each exactly once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select

from smshub.kit.db import sync_url
from smshub.models import Message, SimulatorOutbox
from tests.conftest import truncate_all
from tests.live import create_tenant, serve

N = 5000


def _counts(db_url: str) -> tuple[int, int, int, int]:
    engine = create_engine(sync_url(db_url))
    with engine.connect() as c:
        done = c.execute(
            select(func.count()).where(Message.status.in_(["sent", "delivered"]))
        ).scalar_one()
        rows = c.execute(select(func.count()).select_from(SimulatorOutbox)).scalar_one()
        distinct = c.execute(
            select(func.count(func.distinct(SimulatorOutbox.message_id)))
        ).scalar_one()
        failed = c.execute(select(func.count()).where(Message.status == "failed")).scalar_one()
    engine.dispose()
    return int(done), int(rows), int(distinct), int(failed)


async def _queue(url: str, key: str, number: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as c:
        sem = asyncio.Semaphore(16)

        async def one(i: int) -> None:
            async with sem:
                body = {"from": number, "to": f"+1202555{i % 10000:04d}", "body": f"m{i}"}
                r = await c.post("/api/v1/messages", json=body)
                assert r.status_code == 202, r.text

        await asyncio.gather(*(one(i) for i in range(N)))


def _setup(url: str, key: str) -> str:
    c = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"})
    conn = c.post(
        "/api/v1/connectors",
        json={"name": "sim", "kind": "simulator", "config": {"delivery_delay_s": 0.2}},
    ).json()
    number = c.post("/api/v1/numbers", json={"e164": "+14155550100", "connector_id": conn["id"]})
    me = c.get("/api/v1/me").json()
    c.put(f"/api/v1/numbers/{number.json()['id']}/assignees", json={"user_ids": [me["user"]["id"]]})
    return "+14155550100"


def test_sigkill_mid_send_loses_and_duplicates_nothing(db_url: str, tmp_path: Path) -> None:
    truncate_all(db_url)
    key = create_tenant(db_url, "Durable Co")["api_key"]
    # Queue everything with a web-only process: nothing is sent yet.
    with serve(db_url, tmp_path, ["--only", "web"]) as web:
        number = _setup(web.url, key)
        asyncio.run(_queue(web.url, key, number))
    assert _counts(db_url)[0] == 0
    # A full server starts sending; kill it hard part-way.
    with serve(db_url, tmp_path) as server:
        deadline = time.monotonic() + 120
        while _counts(db_url)[1] < N // 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()
    done, rows, _, _ = _counts(db_url)
    assert 0 < rows < N, "the kill must land mid-stream"
    # After a restart everything completes, exactly once. Leases of the killed worker's
    # claimed jobs expire quickly here so the test does not wait the default 30 s.
    with serve(db_url, tmp_path, SMSHUB_JOB_LEASE_S="2"):
        deadline = time.monotonic() + 240
        while _counts(db_url)[0] < N and time.monotonic() < deadline:
            time.sleep(0.2)
    done, rows, distinct, failed = _counts(db_url)
    assert (done, failed) == (N, 0)
    assert rows == distinct == N
