"""A 10,000-recipient campaign (300 blocklisted, 200 invalid) whose `serve` process is
SIGKILLed twice during dispatch: after restarts the simulated network received each
valid, non-blocklisted recipient exactly once, and the campaign's counts match."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select

from smshub.kit.db import sync_url
from smshub.models import CampaignSend, SimulatorOutbox
from tests.conftest import truncate_all
from tests.live import create_tenant, serve

VALID = [f"+1202555{i:04d}" for i in range(9800)]
BLOCKED = VALID[:300]
INVALID = [f"call me {i}" for i in range(200)]
EXPECTED = 9500


def _outbox(db_url: str) -> tuple[int, int, int]:
    engine = create_engine(sync_url(db_url))
    with engine.connect() as c:
        rows = c.execute(select(func.count()).select_from(SimulatorOutbox)).scalar_one()
        distinct = c.execute(
            select(func.count(func.distinct(SimulatorOutbox.to_e164)))
        ).scalar_one()
        sends = c.execute(select(func.count()).select_from(CampaignSend)).scalar_one()
    engine.dispose()
    return int(rows), int(distinct), int(sends)


def _blocked_in_outbox(db_url: str) -> int:
    engine = create_engine(sync_url(db_url))
    with engine.connect() as c:
        n = c.execute(select(func.count()).where(SimulatorOutbox.to_e164.in_(BLOCKED))).scalar_one()
    engine.dispose()
    return int(n)


def _prepare(url: str, key: str) -> str:
    c = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120)
    conn = c.post(
        "/api/v1/connectors",
        json={"name": "sim", "kind": "simulator", "config": {"delivery_delay_s": 0.2}},
    ).json()
    c.post("/api/v1/numbers", json={"e164": "+14155550100", "connector_id": conn["id"]})
    blocklist = "number\n" + "\n".join(BLOCKED) + "\n"
    r = c.post("/api/v1/blocklist/import", files={"file": ("b.csv", blocklist.encode())})
    assert r.json()["imported"] == 300, r.text
    rows = [f"{n};N{i}" for i, n in enumerate(VALID)]
    for i, bad in enumerate(INVALID):  # scattered through the file
        rows.insert(i * 49, f"{bad};X")
    csv = "number;name\r\n" + "\r\n".join(rows) + "\r\n"
    r = c.post(
        "/api/v1/campaigns/import",
        data={"name": "Big", "from": "+14155550100", "body": "Hi {name}", "rate": "500"},
        files={"file": ("r.csv", csv.encode())},
    )
    assert r.status_code == 201, r.text
    campaign = r.json()
    assert campaign["counts"]["total"] == 10_000
    assert campaign["report"]["rejected_total"] == 200
    r = c.post(f"/api/v1/campaigns/{campaign['id']}/start")
    assert r.status_code == 200, r.text
    return str(campaign["id"])


def _wait_outbox(db_url: str, at_least: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _outbox(db_url)[0] < at_least and time.monotonic() < deadline:
        time.sleep(0.05)


def test_campaign_survives_two_sigkills_exactly_once(db_url: str, tmp_path: Path) -> None:
    truncate_all(db_url)
    key = create_tenant(db_url, "Campaign Co")["api_key"]
    with serve(db_url, tmp_path, ["--only", "web"]) as web:
        campaign_id = _prepare(web.url, key)
    assert _outbox(db_url)[0] == 0
    for threshold in (2000, 5000):
        with serve(db_url, tmp_path, SMSHUB_JOB_LEASE_S="2") as server:
            _wait_outbox(db_url, threshold, 120)
            server.kill()
        rows = _outbox(db_url)[0]
        assert threshold <= rows < EXPECTED, "the kill must land mid-campaign"
    with serve(db_url, tmp_path, SMSHUB_JOB_LEASE_S="2") as server:
        c = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"})
        deadline = time.monotonic() + 240
        data = {}
        while time.monotonic() < deadline:
            data = c.get(f"/api/v1/campaigns/{campaign_id}").json()
            counts = data["counts"]
            if data["status"] == "completed" and counts["sent"] + counts["delivered"] == EXPECTED:
                break
            time.sleep(0.3)
    counts = data["counts"]
    assert data["status"] == "completed", data
    assert counts["total"] == 10_000 and counts["pending"] == counts["queued"] == 0
    assert counts["skipped_blocklisted"] == 300 and counts["skipped_invalid"] == 200
    assert counts["sent"] + counts["delivered"] == EXPECTED and counts["failed"] == 0
    assert _outbox(db_url) == (EXPECTED, EXPECTED, EXPECTED)
    assert _blocked_in_outbox(db_url) == 0
