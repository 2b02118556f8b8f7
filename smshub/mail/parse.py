"""Inbound mail to SMS text (pure): pick the text part, turn HTML into text, strip
quoted history and signatures, and split long replies into SMS within the limits.

Quote markers handled (the common clients' reply layouts):
- Gmail and Apple Mail: "On <date>, <name> wrote:" (possibly wrapped over 2-3 lines),
  and HTML `div.gmail_quote` / `blockquote`;
- Outlook: "-----Original Message-----", a "From: ... Sent:/Date:" header block,
  an underscore rule, and HTML `#divRplyFwdMsg` / `#appendonsend`;
- "> " quoted lines; "-- " signatures; "Sent from my iPhone"-style footers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

_WROTE = re.compile(
    r"^\s*(On|Le|Am|El|Op)\b.*(wrote|écrit|schrieb|escribió|schreef)\s*:?\s*$", re.I
)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(Original Message|Forwarded message)\s*-{2,}", re.I)
_RULE = re.compile(r"^\s*_{10,}\s*$")
_HEADER_FROM = re.compile(r"^\s*\*?(From|De|Von)\s*:\*?\s*\S", re.I)
_HEADER_NEXT = re.compile(r"^\s*\*?(Sent|Date|To|Subject|Envoyé|Gesendet)\s*:", re.I)
_SIGNATURE = re.compile(r"^-- ?$")
_FOOTER = re.compile(
    r"^\s*(Sent from my \w+|Sent from (Mail|Outlook) for|Get Outlook for \w+)", re.I
)
_TOKEN_IN_SUBJECT = re.compile(r"\[#([0-9A-Za-z]{20,80})\]")
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "pre"}
)
_SKIP_TAGS = frozenset({"script", "style", "head", "title"})
_VOID_TAGS = frozenset({"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area"})


@dataclass(frozen=True)
class ParsedMail:
    subject: str
    from_addr: str  # the From header's address, lower case ("" when absent)
    to_addrs: tuple[str, ...]
    text: str | None  # the reply text without quotes; None when the mail has no text part


def parse_mail(raw: bytes) -> ParsedMail:
    """Never raises on a malformed mail: bad charsets and bytes decode with replacement."""
    msg = message_from_bytes(raw, policy=policy.default)
    subject = _header(msg, "subject")
    from_addr = parseaddr(_header(msg, "from"))[1].lower()
    to_addrs = tuple(a.lower() for _, a in getaddresses([_header(msg, "to")]) if a)
    body = _text_of(msg)
    text = None if body is None else strip_reply(body)
    return ParsedMail(subject, from_addr, to_addrs, text)


def token_in_subject(subject: str) -> str | None:
    match = _TOKEN_IN_SUBJECT.search(subject)
    return match.group(1) if match else None


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a malformed header the parser defers until read
        return ""
    return " ".join(str(value or "").split())


def _text_of(msg: Message) -> str | None:
    plain = html = None
    for part in msg.walk():
        if part.is_multipart() or _is_attachment(part):
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _decode(part)
        elif kind == "text/html" and html is None:
            html = _decode(part)
    if plain is not None and plain.strip():
        return plain
    if html is not None:
        return html_to_text(html)
    return plain


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("content-disposition", "")).lower()
    return disposition.startswith("attachment")


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        return payload.decode("utf-8", errors="replace")


class _HtmlText(HTMLParser):
    """HTML to plain text, leaving out quoted history (blockquote, gmail_quote, Outlook's
    reply header and everything after it)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip_depth = 0  # inside script/style or a quote container
        self.stack: list[bool] = []  # per open element: did it start a skip?
        self.stopped = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return
        values = {k: (v or "") for k, v in attrs}
        if values.get("id") in ("appendonsend", "divRplyFwdMsg"):
            self.stopped = True  # Outlook: the rest of the document is the quote
            return
        quote = tag == "blockquote" or "gmail_quote" in values.get("class", "") or tag in _SKIP_TAGS
        if tag in _BLOCK_TAGS and not self.skip_depth:
            self.out.append("\n")
        if tag in _VOID_TAGS:
            return
        self.stack.append(quote)
        if quote:
            self.skip_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.stopped or tag in _VOID_TAGS or not self.stack:
            return
        if self.stack.pop():
            self.skip_depth -= 1
        if tag in _BLOCK_TAGS and not self.skip_depth:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.stopped and not self.skip_depth:
            self.out.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).splitlines()]
    return "\n".join(lines)


def strip_reply(text: str) -> str:
    """The new text of a reply: everything before the first quote marker or signature,
    without "> " lines, and with blank runs collapsed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _ends_reply(lines, i):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return _tidy(kept)


def _ends_reply(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _SIGNATURE.match(line) or _ORIGINAL.match(line) or _RULE.match(line):
        return True
    if _FOOTER.match(line):
        return True
    # "On ... wrote:" may be wrapped by the client over up to three lines.
    if re.match(r"^\s*(On|Le|Am|El|Op)\b", line, re.I):
        for n in (1, 2, 3):
            if _WROTE.match(" ".join(s.strip() for s in lines[i : i + n])):
                return True
    if _HEADER_FROM.match(line):
        return any(_HEADER_NEXT.match(s) for s in lines[i + 1 : i + 4])
    return False


def _tidy(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if not line.strip() and (not out or not out[-1].strip()):
            continue
        out.append(line)
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out).strip()


def split_text(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Split `text` into the fewest pieces that each `fits` (one SMS within the tenant's
    segment and character limits), breaking at a space when one is near the end."""
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        if fits(rest):
            chunks.append(rest)
            break
        lo, hi = 1, len(rest)
        while lo < hi:  # the longest prefix that fits
            mid = (lo + hi + 1) // 2
            if fits(rest[:mid]):
                lo = mid
            else:
                hi = mid - 1
        cut = rest.rfind(" ", 0, lo + 1)
        n = cut if cut > lo // 2 else lo
        chunks.append(rest[:n].rstrip())
        rest = rest[n:].lstrip()
    return chunks
