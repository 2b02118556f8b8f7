"""The ESME client against the smpplib-based SMSC on loopback: bytes on the wire, the
window, reconnects, throttling and hostile input."""

from __future__ import annotations

import asyncio
import logging
import random
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest

from smshub.carriers.base import OutboundSms, SubmitResult
from smshub.carriers.smpp import pdu as p
from smshub.carriers.smpp.carrier import SmppCarrier
from smshub.carriers.smpp.config import SmppConfig
from smshub.carriers.smpp.link import SmppLink
from tests.carriers.smsc import ESME_RTHROTTLED, Smsc, build

FROM, TO = "+14155550100", "+12025550123"


def sms(i: int, body: str, to: str = TO) -> OutboundSms:
    return OutboundSms(f"m{i}", "t", FROM, to, body, 1)


def config(port: int, **extra: Any) -> SmppConfig:
    base: dict[str, Any] = dict(
        host="127.0.0.1",
        port=port,
        system_id="esme",
        password="pw",
        window=10,
        reconnect_min_s=0.05,
        reconnect_max_s=0.2,
        response_timeout_s=2,
        submit_timeout_s=20,
        throttle_backoff_s=0.05,
    )
    return SmppConfig.model_validate({**base, **extra})


class Inbound:
    def __init__(self) -> None:
        self.pdus: list[p.Pdu] = []

    async def __call__(self, pdu: p.Pdu) -> int:
        self.pdus.append(pdu)
        return p.ESME_ROK


@pytest.fixture
async def link(smsc: Smsc) -> AsyncIterator[SmppLink]:
    made = SmppLink("c1", config(smsc.port), Inbound())
    made.start()
    assert await made.wait_bound(5)
    yield made
    await made.stop()


async def submit(link: SmppLink, batch: list[OutboundSms]) -> list[Any]:
    return await SmppCarrier("c1", link).submit_many(None, batch)  # type: ignore[arg-type]


async def test_an_alphanumeric_sender_goes_as_ton_5(link, smsc):
    named = OutboundSms("m1", "t", FROM, TO, "Sale today", 1, sender_id="ACME")
    results = await submit(link, [named, sms(2, "plain")])
    assert all(isinstance(r, SubmitResult) for r in results), results
    alnum, plain = smsc.submits
    assert (alnum.source_addr, alnum.source_addr_ton, alnum.source_addr_npi) == ("ACME", 5, 0)
    assert (plain.source_addr, plain.source_addr_ton, plain.source_addr_npi) == (
        FROM.lstrip("+"),
        1,
        1,
    )


async def test_gsm7_ucs2_and_long_message_bytes_at_the_smsc(link, smsc):
    long = "Long message: " + "x" * 300 + " {end}"  # 320 septets: 3 segments
    results = await submit(link, [sms(1, "Hello @ £ €"), sms(2, "Hi 😀"), sms(3, long)])
    assert all(isinstance(r, SubmitResult) for r in results), results
    gsm, ucs, *parts = smsc.submits
    assert (gsm.data_coding, gsm.short_message) == (0, b"Hello \x00 \x01 \x1be")
    assert (gsm.source_addr, gsm.destination_addr) == ("14155550100", "12025550123")
    assert (ucs.data_coding, ucs.short_message) == (8, "Hi 😀".encode("utf-16-be"))
    assert len(parts) == 3 and all(s.esm_class & 0x40 for s in parts)
    udhs = [s.short_message[:6] for s in parts]
    ref = udhs[0][3]
    assert udhs == [bytes((5, 0, 3, ref, 3, i)) for i in (1, 2, 3)]
    text = b"".join(s.short_message[6:] for s in parts)
    assert text == long.replace("{", "\x1b(").replace("}", "\x1b)").encode()
    # Only the last part asks for a receipt; its id is the message's reference.
    assert [s.registered_delivery for s in parts] == [0, 0, 1]
    assert results[2].carrier_ref == parts[2].message_id


async def test_window_keeps_ten_in_flight(smsc):
    smsc.resp_delay_s = 0.02
    made = SmppLink("c1", config(smsc.port, window=10), Inbound())
    made.start()
    assert await made.wait_bound(5)
    results = await submit(made, [sms(i, f"n{i}") for i in range(100)])
    await made.stop()
    assert all(isinstance(r, SubmitResult) for r in results)
    assert smsc.max_outstanding == 10


async def test_drop_mid_stream_loses_nothing(link, smsc):
    smsc.drop_after = 40
    batch = [sms(i, f"msg {i}") for i in range(200)]
    results = await submit(link, batch)
    assert all(isinstance(r, SubmitResult) for r in results), results
    assert smsc.binds == 2
    got = {s.short_message.decode() for s in smsc.submits if s.message_id}
    assert got == {f"msg {i}" for i in range(200)}


async def test_throttled_for_a_while_then_completes(link, smsc):
    smsc.decide = lambda n: ESME_RTHROTTLED if n <= 25 else 0
    results = await submit(link, [sms(i, f"t{i}") for i in range(30)])
    assert all(isinstance(r, SubmitResult) for r in results), results
    assert smsc.refused == 25 and smsc.accepted == 30


async def test_unknown_command_gets_generic_nack_and_keeps_the_bind(link, smsc):
    smsc.send_raw(struct.pack(">IIII", 16, 0x00000777, 0, 42))
    await asyncio.sleep(0.1)
    assert link.bound and smsc.binds == 1
    results = await submit(link, [sms(1, "still fine")])
    assert isinstance(results[0], SubmitResult)


@pytest.mark.parametrize(
    "garbage",
    [
        struct.pack(">IIII", 5, 0x80000004, 0, 1),  # command_length below the header
        struct.pack(">IIII", 0x7FFFFFFF, 0x80000004, 0, 1),  # absurd command_length
        # a deliver_sm whose source_addr has no NUL within its 21 octets
        struct.pack(">IIII", 16 + 40, 0x00000005, 0, 9) + b"\0\1\1" + b"9" * 37,
        random.Random(7).randbytes(64 * 1024),  # 64 KB of noise
    ],
    ids=["short-length", "huge-length", "malformed-body", "64k-garbage"],
)
async def test_garbage_resets_the_bind_and_loses_nothing(link, smsc, garbage, caplog):
    caplog.set_level(logging.WARNING, logger="smshub.smpp")
    smsc.resp_delay_s = 0.01  # keep the stream going while the garbage arrives
    queued = asyncio.ensure_future(submit(link, [sms(i, f"g{i}") for i in range(50)]))
    await smsc.wait_submits(5)
    smsc.send_raw(garbage)
    results = await queued
    assert all(isinstance(r, SubmitResult) for r in results), results
    assert smsc.binds >= 2, "the bind was reset"
    assert {f"g{i}" for i in range(50)} <= {s.short_message.decode() for s in smsc.submits}
    assert "resetting the bind" in caplog.text and link.last_error


async def test_deliver_sm_reaches_the_handler_and_is_acknowledged(smsc):
    inbound = Inbound()
    made = SmppLink("c1", config(smsc.port), inbound)
    made.start()
    assert await made.wait_bound(5)
    status = await smsc.deliver(
        source_addr="12025550123", destination_addr="14155550100", short_message=b"hi"
    )
    assert status == 0 and inbound.pdus[0].raw("short_message") == b"hi"
    await made.stop()
    assert smsc.unbinds == 1  # a clean unbind at shutdown


async def test_smsc_down_reports_link_down_quickly():
    made = SmppLink("c1", config(1), Inbound())  # nothing listens on port 1
    results = await submit(made, [sms(1, "x")])
    await made.stop()
    assert "down" in str(results[0])


async def test_enquire_link_keepalive(smsc):
    made = SmppLink("c1", config(smsc.port, enquire_link_s=0.2), Inbound())
    made.start()
    assert await made.wait_bound(5)
    await asyncio.sleep(1.5)
    assert made.bound and smsc.binds == 1
    await made.stop()


def test_smsc_helper_builds_with_smpplib():
    assert build("enquire_link", 1) == bytes.fromhex("00000010000000150000000000000001")
