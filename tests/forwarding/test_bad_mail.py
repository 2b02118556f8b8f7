"""Bad mail at our SMTP listener: each is refused or handled cleanly, nothing half-sent,
and the listener keeps serving the next mail."""

from __future__ import annotations

import asyncio
import smtplib
import socket
from email.message import EmailMessage
from typing import Any

import pytest

from tests.factories import Messaging, messaging_tenant, run_jobs
from tests.forwarding.conftest import DOMAIN

PHONE = "+12025550123"


async def _reply_address(fapp: Any, ftenants: Any, sink: Any) -> tuple[Messaging, str]:
    m = await messaging_tenant(await ftenants.make())
    await m.t.admin.put(
        f"/api/v1/numbers/{m.number['id']}/forwarding", json={"emails": ["ops@example.com"]}
    )
    await m.inbound(PHONE, "hello")
    await run_jobs(fapp)
    (_, _, mail), *_ = await asyncio.to_thread(sink.wait_for, 1)
    return m, str(mail["Reply-To"])


def _sendmail(port: int, to: str, raw: bytes) -> Any:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        return client.sendmail("ops@example.com", [to], raw)


async def _bodies(m: Messaging) -> list[str]:
    _, alice = m.users[0]
    convs = (await alice.get("/api/v1/conversations")).json()["items"]
    items = (await alice.get(f"/api/v1/conversations/{convs[0]['id']}/messages")).json()["items"]
    return [x["body"] for x in sorted(items, key=lambda x: x["id"]) if x["direction"] == "out"]


async def _still_serving(listener: int, to: str, m: Messaging, text: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "ops@example.com", to, "Re: x"
    msg.set_content(text)
    await asyncio.to_thread(_sendmail, listener, to, msg.as_bytes())
    assert (await _bodies(m))[-1] == text


async def test_a_20_mb_mail_is_refused_with_552(fapp, ftenants, sink, listener):
    m, to = await _reply_address(fapp, ftenants, sink)
    big = b"From: ops@example.com\r\nSubject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 20_500
    with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) as refused:
        await asyncio.to_thread(_sendmail, listener, to, big)
    assert refused.value.smtp_code == 552
    assert await _bodies(m) == []
    await _still_serving(listener, to, m, "after the big one")


async def test_a_mail_without_a_text_part_is_refused(fapp, ftenants, sink, listener):
    m, to = await _reply_address(fapp, ftenants, sink)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "ops@example.com", to, "picture"
    msg.add_attachment(b"\x89PNG\r\n\x1a\n" + b"\0" * 100, maintype="image", subtype="png")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await asyncio.to_thread(_sendmail, listener, to, msg.as_bytes())
    assert refused.value.smtp_code == 550 and b"no text" in refused.value.smtp_error
    await _still_serving(listener, to, m, "after the picture")


async def test_invalid_utf8_is_decoded_with_replacement(fapp, ftenants, sink, listener):
    m, to = await _reply_address(fapp, ftenants, sink)
    raw = (
        b"From: ops@example.com\r\nTo: " + to.encode() + b"\r\nSubject: bytes\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"Caf\xc3\xa9 ok \xff\xfe broken\r\n"
    )
    await asyncio.to_thread(_sendmail, listener, to, raw)
    assert await _bodies(m) == ["Café ok \ufffd\ufffd broken"]


async def test_header_injection_in_a_subject_adds_no_header_or_recipient(
    fapp, ftenants, sink, listener
):
    m, to = await _reply_address(fapp, ftenants, sink)
    raw = (
        b"From: ops@example.com\r\nTo: " + to.encode() + b"\r\n"
        b"Subject: =?utf-8?q?Re=3A_hi=0D=0ABcc=3A_victim=40evil=2Etest?=\r\n\r\nplain answer\r\n"
    )
    await asyncio.to_thread(_sendmail, listener, to, raw)
    assert await _bodies(m) == ["plain answer"]
    # Outbound: an SMS text with CR/LF stays in the body of the mail it becomes.
    await m.inbound(PHONE, "hi\r\nBcc: victim@evil.test\r\nSubject: pwned")
    await run_jobs(fapp)
    mails = await asyncio.to_thread(sink.wait_for, 2)
    _, rcpts, mail = mails[-1]
    assert rcpts == ["ops@example.com"] and mail["Bcc"] is None
    assert str(mail["Subject"]).startswith(f"SMS from {PHONE} to {m.e164} [#")


async def test_a_client_that_disconnects_mid_data_sends_nothing(fapp, ftenants, sink, listener):
    m, to = await _reply_address(fapp, ftenants, sink)

    def half_a_mail() -> None:
        with socket.create_connection(("127.0.0.1", listener), timeout=10) as s:
            f = s.makefile("rwb")
            f.readline()
            for line in (b"EHLO x", b"MAIL FROM:<ops@example.com>", f"RCPT TO:<{to}>".encode()):
                f.write(line + b"\r\n")
                f.flush()
                while (reply := f.readline())[3:4] == b"-":
                    pass
                assert reply[:1] == b"2", reply
            f.write(b"DATA\r\n")
            f.flush()
            assert f.readline().startswith(b"354")
            f.write(b"Subject: cut\r\n\r\nthis mail never ends")
            f.flush()

    await asyncio.to_thread(half_a_mail)
    await asyncio.sleep(0.2)
    assert await _bodies(m) == []
    await _still_serving(listener, to, m, "after the hang-up")


async def test_unknown_recipients_and_domains_are_refused(fapp, ftenants, sink, listener):
    m, to = await _reply_address(fapp, ftenants, sink)
    for rcpt in (f"postmaster@{DOMAIN}", "reply+abc@" + DOMAIN, "x@other.test"):
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            await asyncio.to_thread(_sendmail, listener, rcpt, b"Subject: x\r\n\r\ny\r\n")
    await _still_serving(listener, to, m, "still here")
