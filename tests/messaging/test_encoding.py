"""SMS encoding and segmentation, checked against the independent `gsm0338` codec.

gsm0338 discrepancy: the codec maps U+001B (ESCAPE) to the single byte 0x1B, so it "encodes"
a raw ESC. In TS 23.038 §6.2.1, 0x1B is the escape to the extension table, not a character:
sent as is, it would swallow the next septet. We reject it (UCS-2), so every comparison with
the codec excludes U+001B explicitly. It is the only code point where the two disagree (see
`test_alphabet_matches_codec_exhaustively`).
"""

from __future__ import annotations

import math

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smshub.messaging.encoding import (
    GSM7_BASIC,
    GSM7_CHARS,
    GSM7_EXTENSION,
    SMART_REPLACEMENTS,
    SmsInfo,
    analyze,
    check_limits,
    gsm7_units,
    is_gsm7,
    smart_replace,
    utf16_units,
)

ESC = "\x1b"


def codec_septets(text: str) -> int:
    return len(text.encode("gsm03.38"))


def codec_utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def codec_accepts(text: str) -> bool:
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


def wire_units(info: SmsInfo, text: str) -> int:
    """Units of `text` measured by the independent codecs, in `info`'s encoding."""
    return codec_septets(text) if info.encoding == "GSM-7" else codec_utf16(text)


# --- table-driven cases -------------------------------------------------------------------

A, ZH = "a", "ж"  # one GSM-7 septet; one UCS-2 unit (Cyrillic zhe)
EMOJI = "\U0001f600"  # two UTF-16 units
CURLY = "\u201cHi\u201d \u2014 it\u2019s\u2026"  # curly quotes, em dash, apostrophe, ellipsis

CASES = [
    # text, smart, encoding, units, units of each part (by the codecs), per_segment, remaining
    pytest.param("", False, "GSM-7", 0, (), 160, 160, id="empty"),
    pytest.param(A * 160, False, "GSM-7", 160, (160,), 160, 0, id="gsm-160"),
    pytest.param(A * 161, False, "GSM-7", 161, (153, 8), 153, 145, id="gsm-161"),
    pytest.param(A * 306, False, "GSM-7", 306, (153, 153), 153, 0, id="gsm-153x2"),
    pytest.param(A * 307, False, "GSM-7", 307, (153, 153, 1), 153, 152, id="gsm-307"),
    pytest.param(A * 152 + "€" + A * 10, False, "GSM-7", 164, (152, 12), 153, 141, id="ext-at-153"),
    pytest.param(A * 151 + "€" + A * 10, False, "GSM-7", 163, (153, 10), 153, 143, id="ext-fits"),
    pytest.param(A * 158 + "€", False, "GSM-7", 160, (160,), 160, 0, id="158+euro"),
    pytest.param(A * 159 + "€", False, "GSM-7", 161, (153, 8), 153, 145, id="159+euro"),
    pytest.param("€" * 80, False, "GSM-7", 160, (160,), 160, 0, id="euro-80"),
    pytest.param("€" * 81, False, "GSM-7", 162, (152, 10), 153, 143, id="euro-81"),
    pytest.param("{}[]~|^\\\f", False, "GSM-7", 18, (18,), 160, 142, id="all-extension"),
    pytest.param(ZH * 70, False, "UCS-2", 70, (70,), 70, 0, id="ucs2-70"),
    pytest.param(ZH * 71, False, "UCS-2", 71, (67, 4), 67, 63, id="ucs2-71"),
    pytest.param(ZH * 134, False, "UCS-2", 134, (67, 67), 67, 0, id="ucs2-67x2"),
    pytest.param(ZH * 66 + EMOJI + ZH * 10, False, "UCS-2", 78, (66, 12), 67, 55, id="emoji-67"),
    pytest.param(ZH * 65 + EMOJI + ZH * 10, False, "UCS-2", 77, (67, 10), 67, 57, id="emoji-fits"),
    pytest.param(EMOJI * 35, False, "UCS-2", 70, (70,), 70, 0, id="emoji-35"),
    pytest.param(EMOJI * 36, False, "UCS-2", 72, (66, 6), 67, 61, id="emoji-36"),
    pytest.param("Café crème à Zürich", False, "GSM-7", 19, (19,), 160, 141, id="e-acute-gsm"),
    pytest.param("Crêpe", False, "UCS-2", 5, (5,), 70, 65, id="e-circumflex-ucs2"),
    pytest.param("line 1\r\nline 2\n", False, "GSM-7", 15, (15,), 160, 145, id="cr-lf"),
    pytest.param("5€ {ok}", False, "GSM-7", 10, (10,), 160, 150, id="ext-two-septets"),
    pytest.param(ESC, False, "UCS-2", 1, (1,), 70, 69, id="raw-escape-not-gsm"),
    pytest.param("`tick`", False, "UCS-2", 6, (6,), 70, 64, id="grave-not-gsm"),
    pytest.param(CURLY, True, "GSM-7", 14, (14,), 160, 146, id="smart-quotes-dash"),
    pytest.param("“你好” — ok", True, "UCS-2", 9, (9,), 70, 61, id="smart-keeps-chinese"),
    pytest.param("“Hi” — ok", False, "UCS-2", 9, (9,), 70, 61, id="no-smart-ucs2"),
]


@pytest.mark.parametrize(
    ("text", "smart", "encoding", "units", "part_units", "per_segment", "remaining"), CASES
)
def test_analyze_cases(
    text: str,
    smart: bool,
    encoding: str,
    units: int,
    part_units: tuple[int, ...],
    per_segment: int,
    remaining: int,
) -> None:
    info = analyze(text, smart=smart)
    assert info.encoding == encoding
    assert info.units == units == wire_units(info, info.text)
    assert tuple(wire_units(info, part) for part in info.parts) == part_units
    assert info.segments == len(part_units)
    assert info.per_segment == per_segment
    assert info.remaining == remaining
    assert "".join(info.parts) == info.text
    assert info.chars == len(info.text)


def test_extension_char_moves_whole_to_next_segment() -> None:
    info = analyze(A * 152 + "€" + A * 10)
    assert info.parts == (A * 152, "€" + A * 10)


def test_emoji_is_never_split() -> None:
    info = analyze(ZH * 66 + EMOJI + ZH * 10)
    assert info.parts == (ZH * 66, EMOJI + ZH * 10)


def test_split_surrogate_code_points_stay_together() -> None:
    # A malformed str: a high and a low surrogate as two code points; one pair on the wire.
    pair = "\ud83d" + "\ude00"
    info = analyze(ZH * 66 + pair + ZH * 10)
    assert info.encoding == "UCS-2"
    assert info.units == 78
    assert info.parts == (ZH * 66, pair + ZH * 10)


def test_smart_rewrites_look_alikes() -> None:
    info = analyze(CURLY, smart=True)
    assert info.text == '"Hi" - it\'s...'
    assert analyze("a\u00a0b\u2009c\u200bd", smart=True).text == "a b cd"
    assert analyze("\uff21\uff22\uff23\uff11\uff12\uff13\uff01", smart=True).text == "ABC123!"


def test_smart_leaves_text_that_stays_ucs2() -> None:
    text = "“你好” — ok"
    assert smart_replace(text) == text
    assert analyze(text, smart=True).text == text


def test_smart_never_changes_gsm7() -> None:
    text = "Price: 5€ [x] {y} ~z~ 'q' \"w\" - ..."
    assert smart_replace(text) is text


def test_check_limits() -> None:
    long = analyze(A * 700)  # 5 segments of 153, 700 characters
    assert long.segments == 5
    assert check_limits(long, max_segments=4, max_chars=1000) == (
        "is 5 segments; the limit is 4 segments"
    )
    assert check_limits(long, max_segments=10, max_chars=670) == (
        "is 700 characters; the limit is 670 characters"
    )
    assert check_limits(long, max_segments=5, max_chars=700) is None
    assert check_limits(long) is None
    assert check_limits(analyze(A * 161), max_segments=1) == (
        "is 2 segments; the limit is 1 segment"
    )
    assert check_limits(analyze(""), max_segments=0, max_chars=0) is None


def test_info_is_frozen() -> None:
    info = analyze("hi")
    with pytest.raises(AttributeError):
        info.units = 3  # type: ignore[misc]


# --- the alphabet against the codec -------------------------------------------------------


def test_alphabet_matches_codec_exhaustively() -> None:
    """Every BMP code point: ours iff the codec's, except U+001B (see the module docstring).
    The codec maps no astral code point; those are covered by the properties below."""
    basic: set[str] = set()
    extension: set[str] = set()
    for code in range(0x10000):
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF:  # surrogates: not encodable text
            assert not is_gsm7(char)
            continue
        if codec_accepts(char):
            (basic if codec_septets(char) == 1 else extension).add(char)
        assert is_gsm7(char) == (codec_accepts(char) and char != ESC), hex(code)
    assert basic - {ESC} == GSM7_BASIC
    assert extension == GSM7_EXTENSION
    assert len(GSM7_BASIC) == 127 and len(GSM7_EXTENSION) == 10


def test_codec_discrepancy_escape() -> None:
    assert "\x1b".encode("gsm03.38") == b"\x1b"  # the codec accepts a raw ESC ...
    assert not is_gsm7(ESC)  # ... we do not: 0x1B is the escape to the extension table


def test_smart_table_is_sound() -> None:
    assert not SMART_REPLACEMENTS.keys() & GSM7_CHARS
    assert all(is_gsm7(value) for value in SMART_REPLACEMENTS.values())


# --- properties -------------------------------------------------------------------------

GSM_ALPHABET = sorted(GSM7_CHARS)
gsm_text = st.text(alphabet=st.sampled_from(GSM_ALPHABET), max_size=700)
# Mostly GSM-7, with extension characters, look-alikes, UCS-2, astral characters and ESC
# mixed in often enough to hit segment boundaries and the codec discrepancy.
tricky = st.sampled_from([ESC, "ê", "ç", "`", "“", "—", "…", "\u00a0", "你", EMOJI, "\U0001d11e"])
mixed_char = st.one_of(
    st.sampled_from(GSM_ALPHABET),
    st.sampled_from(sorted(GSM7_EXTENSION)),
    st.sampled_from(sorted(SMART_REPLACEMENTS)),
    tricky,
    st.characters(codec="utf-8"),  # any code point but the surrogates
)
mixed_text = st.text(alphabet=mixed_char, max_size=700)
# Long enough to need several segments: GSM-7 heavy in extension characters, and mixed.
gsm_ext_char = st.one_of(st.sampled_from(GSM_ALPHABET), st.sampled_from(sorted(GSM7_EXTENSION)))
long_gsm_text = st.text(alphabet=gsm_ext_char, min_size=150, max_size=500)
long_mixed_text = st.text(alphabet=mixed_char, min_size=60, max_size=300)
any_text = st.one_of(gsm_text, mixed_text, long_gsm_text, long_mixed_text, st.text(max_size=300))


@given(gsm_text)
def test_gsm_text_is_gsm7_with_codec_septets(text: str) -> None:
    assert is_gsm7(text)
    assert gsm7_units(text) == codec_septets(text)
    info = analyze(text)
    assert info.encoding == "GSM-7"
    assert info.units == codec_septets(text)


@given(any_text)
def test_is_gsm7_iff_codec_encodes(text: str) -> None:
    # Excluded: U+001B, which the codec wrongly accepts (module docstring).
    assert is_gsm7(text) == (codec_accepts(text) and ESC not in text)


@given(any_text)
def test_utf16_units_match_codec(text: str) -> None:
    assert utf16_units(text) == codec_utf16(text)
    assert utf16_units(text) == sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def greedy_segments(weights: list[int], capacity: int) -> int:
    """Reference packing, one character at a time."""
    count, used = 0, capacity
    for weight in weights:
        if used + weight > capacity:
            count, used = count + 1, 0
        used += weight
    return count


@settings(max_examples=300)
@given(any_text, st.booleans())
def test_segmentation_properties(text: str, smart: bool) -> None:
    info = analyze(text, smart=smart)
    assert info.text == (smart_replace(text) if smart else text)
    assert "".join(info.parts) == info.text
    assert info.segments == len(info.parts)
    assert info.chars == len(info.text)
    assert all(info.parts)
    single, multi = (160, 153) if info.encoding == "GSM-7" else (70, 67)
    assert info.per_segment == (single if info.units <= single else multi)
    sizes = [wire_units(info, part) for part in info.parts]
    assert sum(sizes) == info.units == wire_units(info, info.text)
    assert all(size <= info.per_segment for size in sizes)
    assert info.remaining == info.per_segment - (sizes[-1] if sizes else 0)
    if info.encoding == "GSM-7":
        # No ESC split: the parts' septets are exactly the whole text's, and none ends on ESC.
        encoded = [part.encode("gsm03.38") for part in info.parts]
        assert b"".join(encoded) == info.text.encode("gsm03.38")
        assert not any(chunk.endswith(b"\x1b") for chunk in encoded)
    else:
        for part in info.parts:
            last_unit = part.encode("utf-16-le")[-2:]
            assert not 0xD800 <= int.from_bytes(last_unit, "little") <= 0xDBFF
    # Minimal: same count as the one-character-at-a-time greedy, which is optimal.
    weights = [wire_units(info, char) for char in info.text]
    assert info.segments == greedy_segments(weights, info.per_segment)
    assert info.segments >= math.ceil(info.units / info.per_segment)
    # Greedy: the next part's first character would not have fitted.
    for size, following in zip(sizes, info.parts[1:], strict=False):
        assert size + wire_units(info, following[0]) > info.per_segment


@given(st.text(alphabet=st.one_of(st.sampled_from("\ud83d\ude00\ud800"), st.characters())))
def test_malformed_surrogates_are_still_packed(drawn: str) -> None:
    # Surrogate code points (a malformed str): counted as the UTF-16 units they become.
    text = ZH + drawn
    info = analyze(text)
    assert info.encoding == "UCS-2"
    assert "".join(info.parts) == text
    sizes = [len(part.encode("utf-16-le", "surrogatepass")) // 2 for part in info.parts]
    assert sum(sizes) == info.units
    assert all(size <= info.per_segment for size in sizes)


@given(any_text)
def test_smart_replace_properties(text: str) -> None:
    replaced = smart_replace(text)
    if is_gsm7(text):
        assert replaced is text
    elif replaced != text:
        assert is_gsm7(replaced)


@given(st.text(alphabet=st.sampled_from(GSM_ALPHABET + sorted(SMART_REPLACEMENTS)), max_size=300))
def test_smart_makes_look_alike_text_gsm7(text: str) -> None:
    info = analyze(text, smart=True)
    assert info.encoding == "GSM-7"
    assert info.text == "".join(SMART_REPLACEMENTS.get(c, c) for c in text)
