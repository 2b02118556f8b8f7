"""The composer's live counter (static/sms-counter.js) agrees with the server's
encoding module on every text: run in Chromium, compared with Python."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from smshub.messaging import encoding
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

SOURCE = Path(__file__).resolve().parents[2] / "smshub" / "web" / "static" / "sms-counter.js"

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]

TEXTS = [
    "",
    "Hello",
    "a" * 160,
    "a" * 161,
    "a" * 153 * 2,
    "a" * (153 * 2 + 1),
    "€" * 80,  # 160 septets: one segment
    "€" * 81,  # 162 septets: two
    "a" * 152 + "€",  # the escape pair must not be split across segments
    "a" * 159 + "[",
    "Price: 5€ {net} [approx] ~ok | a\\b ^",
    "form\ffeed",
    "line one\nline two\r\n",
    "Grüße aus Köln: ÄÖÜ äöü ß é à",
    "ç",  # lowercase c cedilla is not GSM-7 (only the capital is)
    "Thanks 😀",
    "😀" * 35,  # 70 UTF-16 units: one segment
    "😀" * 36,  # 72 units: two
    "b" * 66 + "😀" + "c",  # a surrogate pair is never split
    "x" * 70,
    "Ж" * 70,
    "Ж" * 71,
    "Ж" * 134 + "Ж",
    "\u201cCurly\u201d quotes \u2014 and \u2018single\u2019 \u2026",
    "Curly \u201cquotes\u201d with emoji 😀",
    "Non\u00a0breaking\u2009space and \u200bzero width",
    "\uff26\uff35\uff2c\uff2c width",  # full-width letters
    "👨‍👩‍👧‍👦 family",
    "中文短信测试",
    "a" * 600 + "€" * 80,
    "Ω\u2126 Δ\u2206 \u02c6 \u02dc",  # ohm, increment, modifier circumflex, small tilde
]


def python_view(text: str, smart: bool) -> dict:
    info = encoding.analyze(text, smart=smart)
    return {
        "encoding": info.encoding,
        "text": info.text,
        "units": info.units,
        "segments": info.segments,
        "perSegment": info.per_segment,
        "remaining": info.remaining,
        "chars": info.chars,
        "limit": encoding.check_limits(info, max_segments=4, max_chars=670),
    }


SCRIPT = """
async ([url, texts]) => {
  const m = await import(url);
  const out = [];
  for (const smart of [false, true]) {
    for (const text of texts) {
      const info = m.analyze(text, {smart});
      const limit = m.checkLimits(info, {maxSegments: 4, maxChars: 670});
      out.push({encoding: info.encoding, text: info.text, units: info.units,
        segments: info.segments, perSegment: info.perSegment, remaining: info.remaining,
        chars: info.chars, limit});
    }
  }
  return out;
}
"""


def test_js_counter_matches_python_on_every_text():
    url = "data:text/javascript;base64," + base64.b64encode(SOURCE.read_bytes()).decode()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content("<!doctype html><title>counter</title>")
            got = page.evaluate(SCRIPT, [url, TEXTS])
        finally:
            browser.close()
    expected = [python_view(t, smart) for smart in (False, True) for t in TEXTS]
    assert len(got) == len(expected)
    for i, (js, py) in enumerate(zip(got, expected, strict=True)):
        text = TEXTS[i % len(TEXTS)]
        assert js == py, f"text {text[:40]!r} (smart={i >= len(TEXTS)})"


def test_the_table_covers_the_boundaries():
    """The table really exercises both encodings, one and many segments, and smart mode."""
    infos = [encoding.analyze(t) for t in TEXTS]
    assert {i.encoding for i in infos} == {"GSM-7", "UCS-2"}
    assert {i.segments for i in infos} >= {0, 1, 2, 3}
    assert any(
        encoding.analyze(t, smart=True).encoding == "GSM-7"
        for t in TEXTS
        if not encoding.is_gsm7(t)
    )
    assert len(TEXTS) >= 20
