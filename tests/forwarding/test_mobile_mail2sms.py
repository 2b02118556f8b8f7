"""Forward to mobile (with loop prevention) and Mail2SMS, with real SMTP on loopback."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from typing import Any

import pytest

from tests.factories import messaging_tenant, run_jobs
from tests.forwarding.conftest import DOMAIN

PHONE = "+12025550123"
MOBILE = "+14155550177"


async def _outbox(m: Any, to: str) -> list[dict[str, Any]]:
    r = await m.t.admin.get("/api/v1/simulator/outbox", params={"to": to})
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_inbound_is_forwarded_to_the_mobile_naming_the_sender(fapp, ftenants):
    m = await messaging_tenant(await ftenants.make())
    r = await m.t.admin.put(f"/api/v1/numbers/{m.number['id']}/forwarding", json={"mobile": MOBILE})
    assert r.json()["active"] == ["mobile"]
    await m.inbound(PHONE, "Call me back")
    await run_jobs(fapp)
    assert [(x["from"], x["body"]) for x in await _outbox(m, MOBILE)] == [
        (m.e164, f"Fwd from {PHONE}: Call me back")
    ]
    r = await m.t.admin.get(
        f"/api/v1/numbers/{m.number['id']}/callback-attempts", params={"kind": "mobile"}
    )
    assert [(a["outcome"], a["target"]) for a in r.json()["items"]] == [("done", MOBILE)]


async def test_two_numbers_forwarding_to_each_other_do_not_ping_pong(fapp, ftenants):
    t = await ftenants.make()
    a = await messaging_tenant(t)
    b_number = await t.number("+14155550101", connector_id=a.connector_id)
    for mine, other in ((a.number, b_number["e164"]), (b_number, a.e164)):
        r = await t.admin.put(f"/api/v1/numbers/{mine['id']}/forwarding", json={"mobile": other})
        assert r.status_code == 200, r.text
    await a.inbound(PHONE, "loop?")
    await run_jobs(fapp)
    forwarded = await _outbox(a, b_number["e164"])
    assert [x["body"] for x in forwarded] == [f"Fwd from {PHONE}: loop?"]
    # The network hands A's forward to B as an inbound message from A.
    await a.inbound(a.e164, forwarded[0]["body"], to=b_number["e164"])
    await run_jobs(fapp)
    assert await _outbox(a, a.e164) == []
    r = await t.admin.get(f"/api/v1/numbers/{b_number['id']}/callback-attempts?kind=mobile")
    (attempt,) = r.json()["items"]
    assert attempt["outcome"] == "skipped" and "loop" in attempt["error"]


def _mail(frm: str, to: list[str], text: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = frm, ", ".join(to), "SMS"
    msg.set_content(text + "\n\n-- \nJane Doe\nACME Corp")
    return msg


def _send(port: int, msg: EmailMessage, mail_from: str, to: list[str]) -> Any:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.send_message(msg, from_addr=mail_from, to_addrs=to)


async def test_mail2sms_from_an_allowed_sender_is_a_small_bulk_send(fapp, ftenants, listener):
    m = await messaging_tenant(await ftenants.make())
    slug = (await m.t.admin.get("/api/v1/tenant")).json()["slug"]
    r = await m.t.admin.post(
        "/api/v1/mail-senders", json={"email": "Jane@Corp.test", "number_id": m.number["id"]}
    )
    assert r.status_code == 201 and r.json()["email"] == "jane@corp.test"
    await m.inbound("+12025550199", "STOP")  # this one has opted out
    to = [f"{n}@{slug}.{DOMAIN}" for n in ("+12025550123", "12025550124", "+12025550199")]
    await asyncio.to_thread(
        _send, listener, _mail("jane@corp.test", to, "Office closed today"), "jane@corp.test", to
    )
    await run_jobs(fapp)
    sent = {x["to"]: x["body"] for x in await _outbox(m, "") if x["body"] == "Office closed today"}
    assert sent == {"+12025550123": "Office closed today", "+12025550124": "Office closed today"}

    # Not on the allow-list, or a From header that disagrees: refused, nothing sent.
    for frm, envelope in (("eve@corp.test", "eve@corp.test"), ("jane@corp.test", "eve@x.test")):
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(_send, listener, _mail(frm, to[:1], "evil"), envelope, to[:1])
        assert refused.value.smtp_code == 550
    # Not a phone number: refused at RCPT.
    bad = [f"alice@{slug}.{DOMAIN}"]
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await asyncio.to_thread(
            _send, listener, _mail("jane@corp.test", bad, "x"), "jane@corp.test", bad
        )
    await run_jobs(fapp)
    assert not [x for x in await _outbox(m, "") if x["body"] == "evil"]
