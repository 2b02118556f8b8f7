"""The pure SMPP codec: golden bytes, cross-checks against smpplib, and a fuzzed decoder."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import gsm0338  # noqa: F401  (registers the reference GSM 03.38 codec)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smshub.carriers.smpp import pdu as p
from smshub.carriers.smpp.reassembly import Decision, Stored, join, on_part
from smshub.carriers.smpp.receipt import parse_receipt, ref_candidates
from smshub.carriers.smpp.session import Session, State, bind_pdu, response_to
from smshub.carriers.smpp.text import (
    DC_GSM7,
    DC_UCS2,
    decode_part,
    encode_message,
    gsm7_decode,
    gsm7_encode,
)
from smshub.messaging.encoding import GSM7_CHARS
from tests.carriers.smsc import build, parse

SUBMIT_FIELDS: dict[str, int | bytes] = dict(
    service_type=b"",
    source_addr_ton=1,
    source_addr_npi=1,
    source_addr=b"15551230000",
    dest_addr_ton=1,
    dest_addr_npi=1,
    destination_addr=b"15559870000",
    esm_class=0,
    protocol_id=0,
    priority_flag=0,
    schedule_delivery_time=b"",
    validity_period=b"",
    registered_delivery=1,
    replace_if_present_flag=0,
    data_coding=0,
    sm_default_msg_id=0,
    short_message=b"Hello",
)

# Written out by hand from SMPP 3.4 §4.4.1 and checked against smpplib below.
GOLDEN_SUBMIT = bytes.fromhex(
    "0000003c"
    "00000004"
    "00000000"
    "00000007"  # header: length 60, submit_sm, OK, seq 7
    "00"
    "01"
    "01"
    "313535353132333030303000"  # service_type, ton, npi, source_addr
    "01"
    "01"
    "313535353938373030303000"  # dest ton, npi, destination_addr
    "00"
    "00"
    "00"
    "00"
    "00"  # esm_class, protocol_id, priority, schedule, validity
    "01"
    "00"
    "00"
    "00"  # registered_delivery, replace_if_present, data_coding, default id
    "05"
    "48656c6c6f"  # sm_length, short_message
)


def test_submit_sm_golden_bytes_match_smpplib():
    ours = p.encode(p.Pdu(p.SUBMIT_SM, 7, params=SUBMIT_FIELDS))
    assert ours == GOLDEN_SUBMIT
    theirs = build(
        "submit_sm",
        7,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="15551230000",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="15559870000",
        registered_delivery=1,
        short_message=b"Hello",
    )
    assert ours == theirs
    back = p.decode(ours)
    assert back.name == "submit_sm" and back.sequence == 7
    assert back.raw("short_message") == b"Hello" and back.text("source_addr") == "15551230000"


@pytest.mark.parametrize(
    ("command", "fields", "ours"),
    [
        (
            "bind_transceiver_resp",
            {"system_id": "smsc"},
            p.make("bind_transceiver_resp", 1, system_id="smsc"),
        ),
        ("submit_sm_resp", {"message_id": "abc"}, p.make("submit_sm_resp", 3, message_id="abc")),
        ("enquire_link", {}, p.make("enquire_link", 3)),
        ("enquire_link_resp", {}, p.make("enquire_link_resp", 3)),
        ("unbind", {}, p.make("unbind", 3)),
        ("unbind_resp", {}, p.make("unbind_resp", 3)),
        ("generic_nack", {"status": 3}, p.Pdu(p.GENERIC_NACK, 3, 3)),
    ],
)
def test_simple_pdus_match_smpplib(command, fields, ours):
    seq = ours.sequence
    assert p.encode(ours) == build(command, seq, **fields)
    assert p.decode(build(command, seq, **fields)) == ours


def test_bind_matches_smpplib_and_smpplib_reads_ours():
    ours = p.encode(bind_pdu("transceiver", 1, "esme", "secret", "cp"))
    theirs = build(
        "bind_transceiver",
        1,
        system_id="esme",
        password="secret",
        system_type="cp",
        interface_version=0x34,
    )
    assert ours == theirs
    back = parse(ours)
    assert (back.system_id, back.password, back.interface_version) == (b"esme", b"secret", 0x34)


def test_deliver_sm_with_receipt_tlvs_from_smpplib():
    raw = build(
        "deliver_sm",
        9,
        source_addr="1555",
        destination_addr="1666",
        esm_class=4,
        short_message=b"id:1A stat:DELIVRD err:000",
        receipted_message_id="1A",
        message_state=2,
    )
    pdu = p.decode(raw)
    assert pdu.name == "deliver_sm" and pdu.sequence == 9
    assert pdu.tlv(p.TAG_RECEIPTED_MESSAGE_ID) == b"1A\0"
    assert pdu.tlv(p.TAG_MESSAGE_STATE) == b"\x02"
    assert p.encode(pdu) == raw  # the TLVs round-trip byte for byte
    assert p.encode(response_to(pdu)) == build("deliver_sm_resp", 9)


def test_error_resp_with_and_without_body():
    assert p.decode(bytes.fromhex("00000010800000040000005800000005")).status == p.ESME_RTHROTTLED
    theirs = build("submit_sm_resp", 5, status=p.ESME_RTHROTTLED)  # smpplib adds a NUL id
    assert p.decode(theirs).status == p.ESME_RTHROTTLED


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\x00\x00\x00\x0f" + bytes(12), p.FramingError),  # command_length below 16
        (b"\xff\xff\xff\xff" + bytes(12), p.FramingError),  # absurd command_length
        (bytes.fromhex("00000011000000150000000000000001") + b"\0", p.DecodeError),  # extra octet
        (bytes.fromhex("0000001000000777000000000000000a"), p.UnknownCommand),
        (GOLDEN_SUBMIT[:-1], p.FramingError),  # length says one octet more than there is
        (GOLDEN_SUBMIT[:4] + GOLDEN_SUBMIT[4:-6] + b"\xff" + GOLDEN_SUBMIT[-5:], p.DecodeError),
        # a C-Octet string with no NUL inside its maximum size
        (bytes.fromhex("0000002580000004000000000000000a") + b"x" * 21, p.DecodeError),
    ],
)
def test_decode_refuses_malformed_pdus(data, error):
    with pytest.raises(error):
        p.decode(data)


def test_unknown_command_keeps_the_sequence_for_generic_nack():
    with pytest.raises(p.UnknownCommand) as info:
        p.decode(bytes.fromhex("0000001000000777000000000000000a"))
    assert info.value.sequence == 10


def test_split_frames_keeps_partial_pdus_for_later():
    one, two = GOLDEN_SUBMIT, p.encode(p.make("enquire_link", 8))
    frames, rest = p.split_frames(one + two[:5])
    assert frames == [one] and rest == two[:5]
    frames, rest = p.split_frames(rest + two[5:])
    assert frames == [two] and rest == b""
    with pytest.raises(p.FramingError):
        p.split_frames(b"\x7f\xff\xff\xff garbage")


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_decoder_only_raises_decode_error(data):
    try:
        pdu = p.decode(data)
    except p.DecodeError:
        return
    assert p.decode(p.encode(pdu)) == pdu  # whatever decodes, re-encodes to the same PDU


@settings(max_examples=1000, deadline=None)
@given(
    st.sampled_from(sorted(p.COMMANDS)),
    st.integers(0, 0x7FFFFFFF),
    st.binary(max_size=300),
)
def test_fuzz_bodies_behind_valid_headers(command_id, seq, body):
    data = p.HEADER.pack(16 + len(body), command_id, 0, seq) + body
    with contextlib.suppress(p.DecodeError):
        p.decode(data)


# -- text --------------------------------------------------------------------------------


@given(st.text(alphabet=sorted(GSM7_CHARS), max_size=300))
def test_gsm7_unpacked_matches_reference_codec(text):
    assert gsm7_encode(text) == text.encode("gsm03.38")
    assert gsm7_decode(gsm7_encode(text)) == text


def test_long_gsm_message_gets_udh_and_keeps_escape_pairs_whole():
    text = "a" * 152 + "€" + "b" * 200
    enc = encode_message(text, ref=0x42)
    assert enc.data_coding == DC_GSM7 and len(enc.segments) == 3
    first = enc.segments[0]
    assert first.payload[:6] == bytes((5, 0, 3, 0x42, 3, 1)) and first.udhi
    assert first.payload[6:] == b"a" * 152  # the euro's ESC + 0x65 moved to segment 2
    assert enc.segments[1].payload[6:8] == b"\x1b\x65"
    assert "".join(decode_part(s.payload, DC_GSM7, True).text for s in enc.segments) == text


def test_ucs2_with_emoji_is_big_endian_with_surrogates():
    enc = encode_message("Hi 😀", ref=1)
    assert enc.data_coding == DC_UCS2
    assert enc.segments[0].payload == "Hi 😀".encode("utf-16-be") and not enc.segments[0].udhi
    long = encode_message("😀" * 40, ref=7)  # 80 units: two segments, no pair split
    assert [len(s.payload) - 6 for s in long.segments] == [132, 28]


def test_sar_option_leaves_out_the_udh():
    enc = encode_message("x" * 200, ref=9, use_sar=True)
    assert [(s.udhi, s.ref, s.total, s.seq) for s in enc.segments] == [
        (False, 9, 2, 1),
        (False, 9, 2, 2),
    ]
    assert enc.segments[0].payload == b"x" * 153


def test_inbound_16_bit_reference_udh():
    part = decode_part(bytes((6, 8, 4, 1, 2, 3, 2)) + b"hi", DC_GSM7, True)
    assert (part.text, part.ref, part.total, part.seq) == ("hi", 0x0102, 3, 2)


# -- receipts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tlv_id", "state", "expected"),
    [
        (
            "id:1A2B sub:001 dlvrd:001 stat:DELIVRD err:000 text:x",
            None,
            None,
            ("1A2B", "delivered"),
        ),
        ("id:77 stat:UNDELIV err:034", None, None, ("77", "failed")),
        ("id:77 stat:ENROUTE err:000", None, None, ("77", "pending")),
        ("", b"abc\0", b"\x02", ("abc", "delivered")),
        ("id:1 stat:DELIVRD", b"99\0", b"\x05", ("99", "failed")),  # the TLVs win
    ],
)
def test_parse_receipt(text, tlv_id, state, expected):
    got = parse_receipt(text, tlv_id, state)
    assert got is not None and (got.message_id, got.outcome) == expected


def test_receipt_without_id_is_none():
    assert parse_receipt("stat:DELIVRD") is None


def test_ref_candidates_cover_hex_and_decimal():
    assert "6699" in ref_candidates("1A2B") and "1a2b" in ref_candidates("6699")
    assert ref_candidates("0x") == ["0x"]


# -- reassembly and session ----------------------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_part_is_stored_until_the_last_completes_the_message():
    assert on_part([], 3, 3, "c") == Decision(store=True)
    stored = [Stored(3, "c", False), Stored(1, "a", False)]
    assert on_part(stored, 3, 1, "a") == Decision()  # a duplicate adds nothing
    assert on_part(stored, 3, 4, "z") == Decision()  # outside 1..total
    assert on_part(stored, 3, 2, "b") == Decision(store=True, text="abc")


def test_a_part_repeated_after_completion_is_not_a_new_message():
    done = [Stored(1, "a", True), Stored(2, "b", True)]
    assert on_part(done, 2, 1, "a") == Decision(repeat=True)
    # The same reference reused for a different message starts a new one.
    assert on_part(done, 2, 1, "x") == Decision(reset=True, store=True)


def test_join_leaves_gaps_for_missing_parts():
    assert join({1: "a", 3: "c"}, 3) == "ac" and join({}, 2) == ""


def test_session_window_and_sequences():
    s: Session[str] = Session(window=2, enquire_link_s=10, response_timeout_s=5)
    assert not s.can_send()
    s.state = State.BOUND
    a, b = s.next_sequence(), s.next_sequence()
    s.sent(a, "A", T0)
    s.sent(b, "B", T0)
    assert not s.can_send() and s.in_flight == 2
    assert s.resolve(p.make("submit_sm_resp", b, message_id="x")) == "B"
    assert s.resolve(p.make("submit_sm_resp", 999, message_id="x")) is None
    assert s.can_send()
    assert s.timed_out(T0 + timedelta(seconds=5)) == ["A"]
    s.sent(s.next_sequence(), "C", T0)
    assert s.reset() == ["C"] and s.state is State.CLOSED


def test_session_sequence_wraps():
    s: Session[str] = Session()
    s._next = 0x7FFFFFFF
    assert (s.next_sequence(), s.next_sequence()) == (0x7FFFFFFF, 1)


def test_session_keepalive():
    s: Session[str] = Session(enquire_link_s=10, response_timeout_s=5)
    s.state = State.BOUND
    s.received(T0)
    assert not s.keepalive_due(T0 + timedelta(seconds=9))
    assert s.keepalive_due(T0 + timedelta(seconds=10))
    s.enquired(T0 + timedelta(seconds=10))
    assert not s.keepalive_due(T0 + timedelta(seconds=15))
    assert s.dead(T0 + timedelta(seconds=26))
