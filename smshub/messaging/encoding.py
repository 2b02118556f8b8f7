"""SMS encoding detection and segmentation. Pure: stdlib only, no I/O.

Specs:

- 3GPP TS 23.038 §6.2.1: the GSM 7-bit default alphabet (128 code points; 0x1B is the escape
  to the extension table, not a character). §6.2.1.1: the default alphabet extension table;
  an extension character is sent as ESC + code, so it costs two septets, and both septets
  must travel in the same segment.
- 3GPP TS 23.038 §6.2.3: the UCS2 alphabet, 16-bit units. Characters outside the BMP are sent
  as UTF-16 surrogate pairs (two units) and a pair is never split across segments.
- 3GPP TS 23.040 §9.2.3.16 / §9.2.3.24: the user data holds 140 octets, i.e. 160 septets or
  70 UCS2 units. §9.2.3.24.1: a concatenated message carries a 6-octet UDH (UDHL, IEI 0x00,
  IEDL, reference, total, sequence), leaving 134 octets: 153 septets (the UDH is padded with
  fill bits to a septet boundary) or 67 UCS2 units per segment.

This runs on every send: the hot paths are compiled character-class regexes, str.count and
str.encode; Python-level work is per extension/astral character and per segment, never per
character.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Final, Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM7: Final = "GSM-7"
UCS2: Final = "UCS-2"

# TS 23.038 §6.2.1, in code-point order 0x00..0x7F with 0x1B (ESC) left out: 127 characters.
GSM7_BASIC: Final[frozenset[str]] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ"  # 0x00-0x1A
    "ÆæßÉ"  # 0x1C-0x1F
    " !\"#¤%&'()*+,-./0123456789:;<=>?"  # 0x20-0x3F
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"  # 0x40-0x5F
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"  # 0x60-0x7F
)
# TS 23.038 §6.2.1.1: form feed, ^ { } \ [ ~ ] | and the euro sign; each is ESC + code.
GSM7_EXTENSION: Final[frozenset[str]] = frozenset("\f^{}\\[~]|€")
GSM7_CHARS: Final[frozenset[str]] = GSM7_BASIC | GSM7_EXTENSION

# TS 23.040 §9.2.3.24.1: (single-segment, per concatenated segment) capacity in units.
CAPACITY: Final[dict[Encoding, tuple[int, int]]] = {GSM7: (160, 153), UCS2: (70, 67)}


def _char_class(chars: Iterable[str]) -> str:
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"


_GSM7_RUN: Final = re.compile(_char_class(GSM7_CHARS) + "*")
_EXTENSION: Final = tuple(sorted(GSM7_EXTENSION))
# Items worth two units that must share a segment (see `_pack`).
_EXTENSION_CHAR: Final = re.compile(_char_class(GSM7_EXTENSION))
_ASTRAL_CHAR: Final = re.compile("[\U00010000-\U0010ffff]")
# In a malformed str a high and a low surrogate may also sit as two code points: on the wire
# they are one pair. Slower, so only used when the text has surrogate code points.
_ASTRAL_OR_PAIR: Final = re.compile("[\U00010000-\U0010ffff]|[\ud800-\udbff][\udc00-\udfff]")


@dataclass(frozen=True, slots=True)
class SmsInfo:
    """How a text goes on the wire: its encoding, size and segment texts."""

    encoding: Encoding
    text: str  # after smart replacement, if asked for
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int  # 0 for empty text
    per_segment: int  # 160/153 for GSM-7, 70/67 for UCS-2
    remaining: int  # units left in the last segment (160 for empty text)
    parts: tuple[str, ...]  # segment texts; "".join(parts) == text
    chars: int  # len(text), in code points


def is_gsm7(text: str) -> bool:
    """True if every character is in the default alphabet or its extension table (§6.2.1)."""
    return _GSM7_RUN.fullmatch(text) is not None


def gsm7_units(text: str) -> int:
    """Septets for a GSM-7 text: one per character, two per extension character (§6.2.1.1)."""
    return len(text) + sum(map(text.count, _EXTENSION))


def utf16_units(text: str) -> int:
    """UTF-16 code units (§6.2.3): astral characters take a surrogate pair, i.e. two units."""
    return len(text.encode("utf-16-le", "surrogatepass")) >> 1


def _pack(text: str, capacity: int, heavy: re.Pattern[str] | None) -> tuple[tuple[str, ...], int]:
    """Greedy packing into segments of at most `capacity` units: (parts, units in the last).

    Plain characters weigh one unit and may go anywhere; a `heavy` match (an extension
    character, ESC + code, §6.2.1.1; or a UTF-16 surrogate pair, §6.2.3) weighs two and is
    never split; None means there are none. Filling every segment as far as it goes is
    minimal in segment count. Python work is per heavy match and per segment, not per character.
    """
    cuts, used, done = [0], 0, 0  # segment starts, units in the open segment, chars consumed
    for match in (*(heavy.finditer(text) if heavy else ()), None):
        run = (match.start() if match else len(text)) - done
        while used + run > capacity:  # the plain run overflows: fill up, open the next one
            take = capacity - used
            done, run, used = done + take, run - take, 0
            cuts.append(done)
        done, used = done + run, used + run
        if match:
            if used + 2 > capacity:
                cuts.append(done)
                used = 0
            done, used = match.end(), used + 2
    cuts.append(len(text))
    return tuple(text[a:b] for a, b in pairwise(cuts)), used


def _heavy(text: str, encoding: Encoding, units: int) -> re.Pattern[str] | None:
    """The pattern of two-unit items of `text` for `_pack`, or None when it has none."""
    if encoding == GSM7:
        return _EXTENSION_CHAR if units > len(text) else None
    try:
        text.encode("utf-8")  # fails only on surrogate code points
    except UnicodeEncodeError:
        return _ASTRAL_OR_PAIR
    return _ASTRAL_CHAR if units > len(text) else None


def analyze(text: str, *, smart: bool = False) -> SmsInfo:
    """Pick the encoding (§6.2.1 else §6.2.3) and split into segments (TS 23.040 §9.2.3.24.1).

    With `smart`, look-alike characters are first replaced (see `smart_replace`).
    """
    if smart:
        text = smart_replace(text)
    encoding: Encoding = GSM7 if is_gsm7(text) else UCS2
    units_of = gsm7_units if encoding == GSM7 else utf16_units
    units = units_of(text)
    single, multi = CAPACITY[encoding]
    parts: tuple[str, ...]
    if units <= single:
        parts, per_segment, last = ((text,) if text else ()), single, units
    else:
        parts, last = _pack(text, multi, _heavy(text, encoding, units))
        per_segment = multi
    return SmsInfo(
        encoding=encoding,
        text=text,
        units=units,
        segments=len(parts),
        per_segment=per_segment,
        remaining=per_segment - last,
        parts=parts,
        chars=len(text),
    )


def _over(count: int, limit: int, noun: str) -> str:
    def plural(n: int) -> str:
        return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

    return f"is {plural(count)}; the limit is {plural(limit)}"


def check_limits(
    info: SmsInfo, *, max_segments: int | None = None, max_chars: int | None = None
) -> str | None:
    """None if `info` is within the limits, else the first broken rule, e.g.
    "is 5 segments; the limit is 4 segments". A limit of None is not checked."""
    if max_segments is not None and info.segments > max_segments:
        return _over(info.segments, max_segments, "segment")
    if max_chars is not None and info.chars > max_chars:
        return _over(info.chars, max_chars, "character")
    return None


# Smart encoding (`smart_replace`): look-alikes of GSM-7 characters and their GSM-7 stand-ins.
# No key is itself GSM-7 and every value is GSM-7 (the tests check both).
SMART_REPLACEMENTS: Final[dict[str, str]] = {
    # left/right/low-9/reversed single quotes, prime, reversed prime, modifier prime/apostrophe/
    # vertical line, acute accent, grave accent, single angle quotation marks
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u2035\u02b9\u02bc\u02c8\u00b4\u0060", "'"),
    **dict.fromkeys("\u2039\u203a", "'"),
    # left/right/low-9/reversed double quotes, double primes, CJK double prime quotes,
    # double angle quotation marks (guillemets)
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u2036\u301d\u301e\u00ab\u00bb", '"'),
    # hyphen, non-breaking hyphen, figure/en/em dash, horizontal bar, hyphen bullet, minus sign
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212", "-"),
    "\u2026": "...",  # horizontal ellipsis
    # tab, no-break space, ogham space, narrow no-break, medium math and ideographic spaces,
    # and U+2000..U+200A (en/em quads and spaces, thin, hair, figure, punctuation spaces)
    **dict.fromkeys("\t\u00a0\u1680\u202f\u205f\u3000", " "),
    **dict.fromkeys("".join(map(chr, range(0x2000, 0x200B))), " "),
    # invisible: soft hyphen, zero-width space/non-joiner/joiner, word joiner, BOM
    **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", ""),
    # bullet, triangular bullet, bullet operator, dot operator, middle dot
    **dict.fromkeys("\u2022\u2023\u2219\u22c5\u00b7", "-"),
    "\u02c6": "^",  # modifier letter circumflex accent
    "\u02dc": "~",  # small tilde
    "\u2044": "/",  # fraction slash
    "\u2215": "/",  # division slash
    "\u2126": "\u03a9",  # ohm sign -> Greek capital omega
    "\u2206": "\u0394",  # increment -> Greek capital delta
    # full-width forms U+FF01..U+FF5E -> ASCII (full-width grave accent -> apostrophe)
    **{chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)},
    "\uff40": "'",
}
_SMARTABLE_RUN: Final = re.compile(_char_class(GSM7_CHARS | SMART_REPLACEMENTS.keys()) + "*")


def smart_replace(text: str) -> str:
    """Replace look-alikes so a text that only they keep out of GSM-7 (§6.2.1) becomes GSM-7.

    A text that is already GSM-7 is returned unchanged, and so is a text that would still need
    UCS-2 afterwards (a real non-GSM character remains): replacing there would only lose the
    sender's typography without saving a segment.
    """
    if is_gsm7(text) or _SMARTABLE_RUN.fullmatch(text) is None:
        return text
    for char in set(text).difference(GSM7_CHARS):  # all of them are look-alikes by now
        text = text.replace(char, SMART_REPLACEMENTS[char])
    return text
