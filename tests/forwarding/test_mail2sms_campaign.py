"""Mail2SMS to several numbers follows the campaign rules (B6): it runs as a campaign
like `POST /messages/bulk`. One recipient stays a direct SMS. Real SMTP on loopback."""

from __future__ import annotations

import asyncio
import smtplib

import pytest
from sqlalchemy import select

from smshub.kit.db import unit_of_work
from smshub.models import SimulatorOutbox
from tests.factories import messaging_tenant, run_jobs
from tests.forwarding.conftest import DOMAIN
from tests.forwarding.test_mobile_mail2sms import _mail, _send

NUMBERS = ["+12025550123", "+12025550124", "+12025550199"]


async def _outbox(fapp) -> list[tuple[str, str, str]]:
    async with unit_of_work(fapp.state.sessions) as s:
        rows = await s.execute(
            select(SimulatorOutbox.from_e164, SimulatorOutbox.to_e164, SimulatorOutbox.body)
        )
        return sorted((f, t, b) for f, t, b in rows.all())


async def _allowed(ftenants):
    m = await messaging_tenant(await ftenants.make())
    slug = (await m.t.admin.get("/api/v1/tenant")).json()["slug"]
    r = await m.t.admin.post(
        "/api/v1/mail-senders", json={"email": "jane@corp.test", "number_id": m.number["id"]}
    )
    assert r.status_code == 201, r.text
    return m, slug


async def test_a_mail_to_three_numbers_runs_as_a_campaign(fapp, ftenants, listener):
    m, slug = await _allowed(ftenants)
    await m.t.admin.post("/api/v1/blocklist", json={"e164": NUMBERS[2]})
    to = [f"{n}@{slug}.{DOMAIN}" for n in NUMBERS]
    text = "Office closed {today}"  # braces are text, not placeholders
    refused = await asyncio.to_thread(
        _send, listener, _mail("jane@corp.test", to, text), "jane@corp.test", to
    )
    assert refused == {}
    campaigns = (await m.t.admin.get("/api/v1/campaigns")).json()["items"]
    assert len(campaigns) == 1
    campaign = campaigns[0]
    assert campaign["from"] == m.e164 and campaign["name"] == "Mail2SMS from jane@corp.test"
    await run_jobs(fapp)
    await run_jobs(fapp)  # nothing is sent twice
    assert await _outbox(fapp) == [(m.e164, NUMBERS[0], text), (m.e164, NUMBERS[1], text)]
    done = (await m.t.admin.get(f"/api/v1/campaigns/{campaign['id']}")).json()
    assert done["status"] == "completed", done
    assert done["counts"]["skipped_blocklisted"] == 1


async def test_one_recipient_is_a_direct_sms(fapp, ftenants, listener):
    m, slug = await _allowed(ftenants)
    to = [f"{NUMBERS[0]}@{slug}.{DOMAIN}"]
    await asyncio.to_thread(
        _send, listener, _mail("jane@corp.test", to, "Hi"), "jane@corp.test", to
    )
    await run_jobs(fapp)
    assert await _outbox(fapp) == [(m.e164, NUMBERS[0], "Hi")]
    assert (await m.t.admin.get("/api/v1/campaigns")).json()["items"] == []


async def test_all_recipients_opted_out_is_refused(fapp, ftenants, listener):
    m, slug = await _allowed(ftenants)
    for n in NUMBERS[:2]:
        await m.t.admin.post("/api/v1/blocklist", json={"e164": n})
    to = [f"{n}@{slug}.{DOMAIN}" for n in NUMBERS[:2]]
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await asyncio.to_thread(
            _send, listener, _mail("jane@corp.test", to, "Hi"), "jane@corp.test", to
        )
    assert refused.value.smtp_code == 550 and b"opted out" in refused.value.smtp_error
    assert (await m.t.admin.get("/api/v1/campaigns")).json()["items"] == []
