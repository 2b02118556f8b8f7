"""Message text on the SMPP wire. Pure: stdlib and the messaging encoding module only.

- 3GPP TS 23.038 §6.2.1: the GSM 7-bit default alphabet, sent unpacked (one septet per
  octet) as SMPP 3.4 §5.2.19 data_coding 0 expects; §6.2.1.1 extension characters are
  ESC (0x1B) + code. data_coding 8 is UCS-2 (§6.2.3), big-endian, astral characters as
  surrogate pairs.
- 3GPP TS 23.040 §9.2.3.24.1: concatenation with an 8-bit reference UDH
  (05 00 03 ref total seq); §9.2.3.24.8 the 16-bit reference form (06 08 04 ...) is
  understood inbound. SMPP 3.4 §5.3.2.22-24: the sar_* TLVs are the alternative.

Segmentation is `messaging.encoding.analyze`: it never splits an escape pair or a
surrogate pair, so what we send matches the segment count shown to the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from smshub.messaging.encoding import GSM7, analyze

DC_GSM7: Final = 0
DC_LATIN1: Final = 3
DC_UCS2: Final = 8

_ESC: Final = 0x1B
# TS 23.038 §6.2.1 in code order; "\x1b" stands for ESC and is never a character.
_BASIC: Final = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENSION: Final = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_TO_GSM: Final = {c: i for i, c in enumerate(_BASIC) if i != _ESC}
_FROM_EXT: Final = {code: c for c, code in _EXTENSION.items()}


@dataclass(frozen=True, slots=True)
class Segment:
    """One submit_sm's worth: short_message octets (UDH included) and its esm_class bits."""

    payload: bytes
    udhi: bool
    ref: int  # concatenation reference, 0 for a single segment
    total: int
    seq: int


@dataclass(frozen=True, slots=True)
class Encoded:
    data_coding: int
    segments: tuple[Segment, ...]


def gsm7_encode(text: str) -> bytes:
    """Unpacked GSM-7 septets; ValueError for a character outside §6.2.1/§6.2.1.1."""
    out = bytearray()
    for char in text:
        code = _TO_GSM.get(char)
        if code is not None:
            out.append(code)
        elif char in _EXTENSION:
            out += bytes((_ESC, _EXTENSION[char]))
        else:
            raise ValueError(f"{char!r} is not in the GSM 7-bit alphabet")
    return bytes(out)


def gsm7_decode(data: bytes) -> str:
    """Unpacked GSM-7 to text; an unknown extension code reads as its basic character
    (§6.2.1.1 says so), and octets above 0x7F are masked to septets."""
    out: list[str] = []
    escaped = False
    for octet in data:
        code = octet & 0x7F
        if escaped:
            out.append(_FROM_EXT.get(code, _BASIC[code] if code != _ESC else " "))
            escaped = False
        elif code == _ESC:
            escaped = True
        else:
            out.append(_BASIC[code])
    return "".join(out)


def encode_message(text: str, ref: int, *, use_sar: bool = False) -> Encoded:
    """The segments of `text`. `ref` (0..255) is the concatenation reference; with
    `use_sar` the UDH is left out and the caller sends sar_* TLVs from the segments."""
    info = analyze(text)
    gsm = info.encoding == GSM7
    raw = [gsm7_encode(p) if gsm else p.encode("utf-16-be", "surrogatepass") for p in info.parts]
    if len(raw) <= 1:
        return Encoded(
            DC_GSM7 if gsm else DC_UCS2, (Segment(raw[0] if raw else b"", False, 0, 1, 1),)
        )
    ref &= 0xFF
    total = len(raw)
    segments = tuple(
        Segment(
            (b"" if use_sar else bytes((5, 0, 3, ref, total, i))) + part,
            not use_sar,
            ref,
            total,
            i,
        )
        for i, part in enumerate(raw, start=1)
    )
    return Encoded(DC_GSM7 if gsm else DC_UCS2, segments)


@dataclass(frozen=True, slots=True)
class Part:
    """An inbound short_message decoded: its text and, if concatenated, where it goes."""

    text: str
    ref: int | None = None
    total: int = 1
    seq: int = 1


def decode_text(data: bytes, data_coding: int) -> str:
    if data_coding == DC_UCS2:
        return data[: len(data) & ~1].decode("utf-16-be", "replace")
    if data_coding in (DC_LATIN1, 4):
        return data.decode("latin-1")
    return gsm7_decode(data)


def decode_part(data: bytes, data_coding: int, udhi: bool) -> Part:
    """Strip and read a UDH (§9.2.3.24) when `udhi`; a malformed UDH is read as text."""
    if not udhi or not data or data[0] + 1 > len(data):
        return Part(decode_text(data, data_coding))
    udh, body = data[1 : data[0] + 1], data[data[0] + 1 :]
    ref: int | None = None
    total = seq = 1
    at = 0
    while at + 2 <= len(udh):
        iei, size = udh[at], udh[at + 1]
        value = udh[at + 2 : at + 2 + size]
        if iei == 0x00 and size == 3 and len(value) == 3:
            ref, total, seq = value[0], value[1], value[2]
        elif iei == 0x08 and size == 4 and len(value) == 4:
            ref, total, seq = (value[0] << 8) | value[1], value[2], value[3]
        at += 2 + size
    return Part(decode_text(body, data_coding), ref, total, seq)
