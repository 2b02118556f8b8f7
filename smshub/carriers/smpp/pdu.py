"""SMPP 3.4 PDU codec. Pure: stdlib only, no I/O.

Spec: SMPP v3.4 (Issue 1.2). §3.2 the PDU header (command_length, command_id,
command_status, sequence_number, each a 4-octet big-endian integer); §5.1 field types
(C-Octet strings end in NUL and have a maximum size that counts the NUL); §4 the bodies
of the operations used here; §5.3 TLVs (2-octet tag, 2-octet length, value).

`decode` is strict: every length is checked, and anything that does not fit raises a
`DecodeError`, never an IndexError or a struct.error. Unknown TLVs are kept as they are.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

HEADER: Final = struct.Struct(">IIII")
HEADER_LEN: Final = 16
# Nothing legitimate comes near this: a submit_sm with a full message_payload is < 66 kB.
MAX_PDU: Final = 70_000

# §5.1.2.1 command ids.
GENERIC_NACK: Final = 0x80000000
BIND_RECEIVER: Final = 0x00000001
BIND_TRANSMITTER: Final = 0x00000002
SUBMIT_SM: Final = 0x00000004
DELIVER_SM: Final = 0x00000005
UNBIND: Final = 0x00000006
BIND_TRANSCEIVER: Final = 0x00000009
ENQUIRE_LINK: Final = 0x00000015
DATA_SM: Final = 0x00000103
RESP: Final = 0x80000000

# §5.1.3 command_status values used here.
ESME_ROK: Final = 0x00
ESME_RINVMSGLEN: Final = 0x01
ESME_RINVCMDLEN: Final = 0x02
ESME_RINVCMDID: Final = 0x03
ESME_RINVBNDSTS: Final = 0x04
ESME_RSYSERR: Final = 0x08
ESME_RBINDFAIL: Final = 0x0D
ESME_RINVPASWD: Final = 0x0E
ESME_RINVSYSID: Final = 0x0F
ESME_RINVDSTADR: Final = 0x0B
ESME_RMSGQFUL: Final = 0x14
ESME_RTHROTTLED: Final = 0x58
ESME_RX_T_APPN: Final = 0x64  # ESME receiver temporary app error
ESME_RDELIVERYFAILURE: Final = 0xFE

# §5.3.2 TLV tags used here.
TAG_RECEIPTED_MESSAGE_ID: Final = 0x001E
TAG_USER_MESSAGE_REFERENCE: Final = 0x0204
TAG_SAR_MSG_REF_NUM: Final = 0x020C
TAG_SAR_TOTAL_SEGMENTS: Final = 0x020E
TAG_SAR_SEGMENT_SEQNUM: Final = 0x020F
TAG_SC_INTERFACE_VERSION: Final = 0x0210
TAG_NETWORK_ERROR_CODE: Final = 0x0423
TAG_MESSAGE_PAYLOAD: Final = 0x0424
TAG_MESSAGE_STATE: Final = 0x0427

# esm_class bits (§5.2.12).
ESM_UDHI: Final = 0x40
TON_ALPHANUMERIC: Final = 5  # SMPP 3.4 5.2.5: the source is an alphanumeric sender ID
ESM_DELIVERY_RECEIPT: Final = 0x04
ESM_TYPE_MASK: Final = 0x3C

# A field: (name, kind, size). kind "c" is a C-Octet string whose size counts the NUL;
# "u1" one octet; "sm" is sm_length followed by that many octets of short_message.
Kind = Literal["c", "u1", "sm"]
Spec = tuple[tuple[str, Kind, int], ...]

_BIND: Spec = (
    ("system_id", "c", 16),
    ("password", "c", 9),
    ("system_type", "c", 13),
    ("interface_version", "u1", 1),
    ("addr_ton", "u1", 1),
    ("addr_npi", "u1", 1),
    ("address_range", "c", 41),
)
_SM: Spec = (  # §4.4.1 submit_sm and §4.6.1 deliver_sm share this layout
    ("service_type", "c", 6),
    ("source_addr_ton", "u1", 1),
    ("source_addr_npi", "u1", 1),
    ("source_addr", "c", 21),
    ("dest_addr_ton", "u1", 1),
    ("dest_addr_npi", "u1", 1),
    ("destination_addr", "c", 21),
    ("esm_class", "u1", 1),
    ("protocol_id", "u1", 1),
    ("priority_flag", "u1", 1),
    ("schedule_delivery_time", "c", 17),
    ("validity_period", "c", 17),
    ("registered_delivery", "u1", 1),
    ("replace_if_present_flag", "u1", 1),
    ("data_coding", "u1", 1),
    ("sm_default_msg_id", "u1", 1),
    ("short_message", "sm", 254),
)
_DATA_SM: Spec = (  # §4.7.1
    ("service_type", "c", 6),
    ("source_addr_ton", "u1", 1),
    ("source_addr_npi", "u1", 1),
    ("source_addr", "c", 65),
    ("dest_addr_ton", "u1", 1),
    ("dest_addr_npi", "u1", 1),
    ("destination_addr", "c", 65),
    ("esm_class", "u1", 1),
    ("registered_delivery", "u1", 1),
    ("data_coding", "u1", 1),
)
_SYSTEM_ID: Spec = (("system_id", "c", 16),)
_MESSAGE_ID: Spec = (("message_id", "c", 65),)

# command id -> (name, mandatory body, whether TLVs may follow)
COMMANDS: Final[dict[int, tuple[str, Spec, bool]]] = {
    GENERIC_NACK: ("generic_nack", (), False),
    BIND_RECEIVER: ("bind_receiver", _BIND, False),
    BIND_RECEIVER | RESP: ("bind_receiver_resp", _SYSTEM_ID, True),
    BIND_TRANSMITTER: ("bind_transmitter", _BIND, False),
    BIND_TRANSMITTER | RESP: ("bind_transmitter_resp", _SYSTEM_ID, True),
    BIND_TRANSCEIVER: ("bind_transceiver", _BIND, False),
    BIND_TRANSCEIVER | RESP: ("bind_transceiver_resp", _SYSTEM_ID, True),
    SUBMIT_SM: ("submit_sm", _SM, True),
    SUBMIT_SM | RESP: ("submit_sm_resp", _MESSAGE_ID, False),
    DELIVER_SM: ("deliver_sm", _SM, True),
    DELIVER_SM | RESP: ("deliver_sm_resp", _MESSAGE_ID, False),
    DATA_SM: ("data_sm", _DATA_SM, True),
    DATA_SM | RESP: ("data_sm_resp", _MESSAGE_ID, True),
    UNBIND: ("unbind", (), False),
    UNBIND | RESP: ("unbind_resp", (), False),
    ENQUIRE_LINK: ("enquire_link", (), False),
    ENQUIRE_LINK | RESP: ("enquire_link_resp", (), False),
}
NAMES: Final = {cid: name for cid, (name, _, _) in COMMANDS.items()}
IDS: Final = {name: cid for cid, name in NAMES.items()}

Value = int | bytes


class DecodeError(ValueError):
    """The bytes are not a valid SMPP 3.4 PDU."""


class FramingError(DecodeError):
    """command_length is impossible: the stream cannot be resynchronised."""


class UnknownCommand(DecodeError):
    """A well-framed PDU whose command_id we do not know (answer generic_nack)."""

    def __init__(self, command_id: int, sequence: int):
        super().__init__(f"unknown command_id 0x{command_id:08x}")
        self.command_id = command_id
        self.sequence = sequence


@dataclass(frozen=True, slots=True)
class Pdu:
    command_id: int
    sequence: int
    status: int = ESME_ROK
    params: Mapping[str, Value] = field(default_factory=dict)
    tlvs: tuple[tuple[int, bytes], ...] = ()

    @property
    def name(self) -> str:
        return NAMES.get(self.command_id, f"0x{self.command_id:08x}")

    @property
    def is_resp(self) -> bool:
        return bool(self.command_id & RESP)

    def num(self, key: str) -> int:
        value = self.params.get(key, 0)
        return value if isinstance(value, int) else 0

    def raw(self, key: str) -> bytes:
        value = self.params.get(key, b"")
        return value if isinstance(value, bytes) else b""

    def text(self, key: str) -> str:
        return self.raw(key).decode("latin-1")

    def tlv(self, tag: int) -> bytes | None:
        for t, value in self.tlvs:
            if t == tag:
                return value
        return None


def make(
    name: str,
    sequence: int,
    status: int = ESME_ROK,
    tlvs: tuple[tuple[int, bytes], ...] = (),
    **params: Value | str,
) -> Pdu:
    """A PDU by command name; str values are encoded as ASCII."""
    clean = {k: v.encode("ascii") if isinstance(v, str) else v for k, v in params.items()}
    return Pdu(IDS[name], sequence, status, clean, tlvs)


def encode(pdu: Pdu) -> bytes:
    """The wire bytes of `pdu`. Raises ValueError if a field does not fit its size."""
    try:
        _, spec, _ = COMMANDS[pdu.command_id]
    except KeyError:
        raise ValueError(f"cannot encode command_id 0x{pdu.command_id:08x}") from None
    body = bytearray()
    # §3.3: a resp with an error status may have no body (generic_nack has none anyway).
    if not (pdu.is_resp and pdu.status != ESME_ROK and not pdu.params):
        for name, kind, size in spec:
            _put(body, name, kind, size, pdu.params.get(name))
    for tag, value in pdu.tlvs:
        body += struct.pack(">HH", tag, len(value)) + value
    return HEADER.pack(HEADER_LEN + len(body), pdu.command_id, pdu.status, pdu.sequence) + body


def _put(out: bytearray, name: str, kind: Kind, size: int, value: Value | None) -> None:
    if kind == "u1":
        number = value if isinstance(value, int) else 0
        if not 0 <= number <= 0xFF:
            raise ValueError(f"{name} must be an octet")
        out.append(number)
        return
    raw = value if isinstance(value, bytes) else b""
    if kind == "sm":
        if len(raw) > size:
            raise ValueError(f"{name} is {len(raw)} octets; the limit is {size}")
        out.append(len(raw))
        out += raw
        return
    if len(raw) >= size or b"\0" in raw:
        raise ValueError(f"{name} must be under {size} octets with no NUL")
    out += raw + b"\0"


def frame_length(header: bytes) -> int:
    """command_length from the first 4 octets; FramingError if it cannot be right."""
    length = int.from_bytes(header[:4], "big")
    if length < HEADER_LEN or length > MAX_PDU:
        raise FramingError(f"command_length {length} is outside {HEADER_LEN}..{MAX_PDU}")
    return length


def decode(data: bytes) -> Pdu:
    """One PDU from exactly its bytes (§3.2). Strict about every length."""
    if len(data) < HEADER_LEN:
        raise FramingError(f"{len(data)} octets is shorter than a PDU header")
    length, command_id, status, sequence = HEADER.unpack_from(data)
    if length != len(data):
        raise FramingError(f"command_length {length} but {len(data)} octets")
    if command_id not in COMMANDS:
        raise UnknownCommand(command_id, sequence)
    _, spec, has_tlvs = COMMANDS[command_id]
    params: dict[str, Value] = {}
    at = HEADER_LEN
    is_bare_error = command_id & RESP and status != ESME_ROK and length == HEADER_LEN
    if not is_bare_error:
        for name, kind, size in spec:
            params[name], at = _take(data, at, name, kind, size)
    tlvs: list[tuple[int, bytes]] = []
    while at < length:
        if not has_tlvs:
            raise DecodeError(f"{NAMES[command_id]} has {length - at} octets too many")
        if at + 4 > length:
            raise DecodeError("truncated TLV header")
        tag, size = struct.unpack_from(">HH", data, at)
        if at + 4 + size > length:
            raise DecodeError(f"TLV 0x{tag:04x} runs past the PDU")
        tlvs.append((tag, data[at + 4 : at + 4 + size]))
        at += 4 + size
    return Pdu(command_id, sequence, status, params, tuple(tlvs))


def _take(data: bytes, at: int, name: str, kind: Kind, size: int) -> tuple[Value, int]:
    if kind == "u1":
        if at >= len(data):
            raise DecodeError(f"{name} missing")
        return data[at], at + 1
    if kind == "sm":
        if at >= len(data):
            raise DecodeError("sm_length missing")
        n = data[at]
        if at + 1 + n > len(data):
            raise DecodeError(f"sm_length {n} runs past the PDU")
        return data[at + 1 : at + 1 + n], at + 1 + n
    end = data.find(b"\0", at, at + size)
    if end < 0:
        raise DecodeError(f"{name} is not a C-Octet string of at most {size} octets")
    return data[at:end], end + 1


def split_frames(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Cut a received byte stream into whole PDUs; the rest waits for more bytes."""
    frames: list[bytes] = []
    at = 0
    while len(buffer) - at >= 4:
        length = frame_length(buffer[at : at + 4])
        if len(buffer) - at < length:
            break
        frames.append(buffer[at : at + length])
        at += length
    return frames, buffer[at:]
