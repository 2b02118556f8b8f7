"""SMS to email and reply by email, end to end with real SMTP on loopback."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi import FastAPI

from tests.factories import Messaging, messaging_tenant, run_jobs
from tests.forwarding.conftest import DOMAIN
from tests.peers import SmtpSink

PHONE = "+12025550123"


async def _setup(ftenants: Any) -> Messaging:
    m = await messaging_tenant(await ftenants.make())
    r = await m.t.admin.put(
        f"/api/v1/numbers/{m.number['id']}/forwarding", json={"emails": ["ops@example.com"]}
    )
    assert r.status_code == 200, r.text
    return m


async def _inbound_mail(fapp: FastAPI, m: Messaging, sink: SmtpSink, body: str) -> EmailMessage:
    before = len(sink.mails)
    await m.inbound(PHONE, body)
    await run_jobs(fapp)
    mails = await asyncio.to_thread(sink.wait_for, before + 1)
    assert len(mails) == before + 1
    return mails[-1][2]


def _send(port: int, to: str, msg: EmailMessage | bytes, mail_from: str = "boss@corp.test") -> Any:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        if isinstance(msg, bytes):
            return client.sendmail(mail_from, [to], msg)
        return client.send_message(msg, from_addr=mail_from, to_addrs=[to])


def _reply(original: EmailMessage, text: str, html: str | None = None) -> EmailMessage:
    reply = EmailMessage()
    reply["From"] = "Ops <ops@example.com>"
    reply["To"] = str(original["Reply-To"])
    reply["Subject"] = "Re: " + str(original["Subject"])
    reply.set_content(text)
    if html is not None:
        reply.add_alternative(html, subtype="html")
    return reply


async def _outbound(m: Messaging) -> list[dict[str, Any]]:
    _, alice = m.users[0]
    convs = (await alice.get("/api/v1/conversations")).json()["items"]
    if not convs:
        return []
    items = (await alice.get(f"/api/v1/conversations/{convs[0]['id']}/messages")).json()["items"]
    return sorted((x for x in items if x["direction"] == "out"), key=lambda x: x["id"])


async def test_inbound_sms_is_mailed_and_a_reply_becomes_an_sms(fapp, ftenants, sink, listener):
    m = await _setup(ftenants)
    mail = await _inbound_mail(fapp, m, sink, "Are you open today?")
    subject = str(mail["Subject"])
    assert subject.startswith(f"SMS from {PHONE} to {m.e164} [#")
    reply_to = str(mail["Reply-To"])
    assert reply_to.startswith("reply+") and reply_to.endswith("@" + DOMAIN)
    assert "Are you open today?" in mail.get_content()
    assert sink.mails[-1][1] == ["ops@example.com"]

    text = (
        "Yes, until 6pm.\n\nOn Mon, Jan 5, 2026 at 10:00 AM SMS <smshub@sms.example.test>\n"
        "wrote:\n> Are you open today?\n"
    )
    await asyncio.to_thread(_send, listener, reply_to, _reply(mail, text))
    out = await _outbound(m)
    assert [(x["to"], x["body"]) for x in out] == [(PHONE, "Yes, until 6pm.")]
    assert out[0]["sent_by"] is None
    await run_jobs(fapp)
    outbox = (await m.t.admin.get("/api/v1/simulator/outbox", params={"to": PHONE})).json()
    assert [x["body"] for x in outbox["items"]] == ["Yes, until 6pm."]


async def test_html_reply_from_outlook_is_stripped(fapp, ftenants, sink, listener):
    m = await _setup(ftenants)
    mail = await _inbound_mail(fapp, m, sink, "Ping")
    html = (
        "<html><body><div>Pong &amp; thanks</div><div><br></div>"
        '<div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> SMS'
        "<br><b>Sent:</b> Monday</div><div>Ping</div></body></html>"
    )
    text = "Pong & thanks\n\n-----Original Message-----\nFrom: SMS\nSent: Monday\n\nPing"
    reply = _reply(mail, text, html)
    await asyncio.to_thread(_send, listener, str(mail["Reply-To"]), reply)
    assert [x["body"] for x in await _outbound(m)] == ["Pong & thanks"]


async def test_long_replies_are_split_within_the_segment_limits(fapp, ftenants, sink, listener):
    m = await _setup(ftenants)
    mail = await _inbound_mail(fapp, m, sink, "Tell me everything")
    words = ("lorem ipsum dolor sit amet consectetur " * 20)[:500].strip()
    assert len(words) == 500 - (words != words.strip())
    await asyncio.to_thread(_send, listener, str(mail["Reply-To"]), _reply(mail, words))
    out = await _outbound(m)
    # GSM-7: 500 characters fit in 4 segments of 153, the tenant's limit: one SMS.
    assert [(x["body"], x["segments"], x["encoding"]) for x in out] == [(words, 4, "GSM-7")]

    emoji = ("Grüße 😀 " * 60)[:500].strip()
    await asyncio.to_thread(_send, listener, str(mail["Reply-To"]), _reply(mail, emoji))
    parts = (await _outbound(m))[1:]
    # UCS-2: 4 segments hold 268 units, so the text goes as several SMS, none over 4.
    assert len(parts) >= 2
    assert all(p["segments"] <= 4 and p["encoding"] == "UCS-2" for p in parts)
    assert " ".join(p["body"] for p in parts).split() == emoji.split()


async def test_forged_or_missing_tokens_send_nothing(fapp, ftenants, sink, listener):
    m = await _setup(ftenants)
    mail = await _inbound_mail(fapp, m, sink, "Hi")
    good = str(mail["Reply-To"])
    local, _, _ = good.partition("@")
    forged = local[:-4] + ("0000" if not local.endswith("0000") else "1111") + "@" + DOMAIN
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await asyncio.to_thread(_send, listener, forged, _reply(mail, "forged"))
    code, text = refused.value.recipients[forged]
    assert code == 550 and b"reply address" in text
    # No token at all: a mail to the From address with a From header naming the owner.
    plain = EmailMessage()
    plain["From"] = "ops@example.com"
    plain["To"] = f"smshub@{DOMAIN}"
    plain["Subject"] = "Re: SMS from you"
    plain.set_content("send this please")
    with pytest.raises(smtplib.SMTPDataError) as no_token:
        await asyncio.to_thread(_send, listener, f"smshub@{DOMAIN}", plain, "ops@example.com")
    assert no_token.value.smtp_code == 550
    # A forged token in the subject is no better.
    plain.replace_header("Subject", "Re: [#" + local[6:-4] + "abcd]")
    with pytest.raises(smtplib.SMTPDataError):
        await asyncio.to_thread(_send, listener, f"smshub@{DOMAIN}", plain, "ops@example.com")
    # Another domain is not relayed.
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await asyncio.to_thread(_send, listener, "someone@elsewhere.test", plain)
    assert await _outbound(m) == []
    # The subject token alone works (a client that replied to From, not Reply-To).
    token = local.removeprefix("reply+")
    plain.replace_header("Subject", f"Re: SMS [#{token}]")
    await asyncio.to_thread(_send, listener, f"smshub@{DOMAIN}", plain, "ops@example.com")
    assert [x["body"] for x in await _outbound(m)] == ["send this please"]
