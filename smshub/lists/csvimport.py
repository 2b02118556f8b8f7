"""Streaming CSV import of recipients [pure] (B1, RFC 4180 with real-world tolerance).

Reads bytes in chunks and yields one outcome per data row, so a 100,000-row file needs
memory for one line at a time plus the set of numbers already seen (for duplicates).
Accepted: UTF-8 with or without a BOM, `;`, `,` or tab separators (sniffed from the
header; a row written with the other separator is re-split), CRLF or LF, quoted fields
(also over several lines), blank lines, numbers in national format (parsed with a
default region). A line longer than `MAX_LINE` bytes is reported as a row error and
skipped, never held in memory.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from smshub.numbers.rules import to_e164

MAX_LINE: Final = 8192
MAX_VALUE: Final = 64
NUMBER_COLUMNS: Final = ("number", "phone", "mobile", "e164", "msisdn")
SEPARATORS: Final = (";", ",", "\t")
_TOO_LONG: Final = "\x00too-long\x00"
_PLAIN_E164: Final = re.compile(r"^\+[1-9]\d{6,14}$")

INVALID: Final = "invalid E.164 number"
DUPLICATE: Final = "duplicate"
MISSING: Final = "missing column"
TOO_LONG: Final = "line too long"


class HeaderError(ValueError):
    """The file has no usable header row."""


@dataclass(frozen=True)
class Accepted:
    row: int
    e164: str
    fields: dict[str, str]


@dataclass(frozen=True)
class Rejected:
    row: int
    value: str
    reason: str


@dataclass
class Header:
    separator: str
    number_index: int
    columns: list[str] = field(default_factory=list)  # every column but the number, in order
    names: list[str] = field(default_factory=list)  # all columns, in file order


def iter_lines(chunks: Iterable[bytes]) -> Iterator[tuple[int, str]]:
    """(physical line number, text) for each line; overlong lines come as `_TOO_LONG`."""
    pending = b""
    skipping = False
    number = 0
    first = True
    for chunk in chunks:
        pending += chunk
        while True:
            cut = pending.find(b"\n")
            if cut < 0:
                if len(pending) > MAX_LINE:
                    if not skipping:
                        number += 1
                        yield number, _TOO_LONG
                    skipping, pending = True, b""
                break
            raw, pending = pending[:cut], pending[cut + 1 :]
            if skipping:
                skipping = False
                continue
            number += 1
            if len(raw) > MAX_LINE:
                yield number, _TOO_LONG
                continue
            if first:
                raw, first = raw.removeprefix(b"\xef\xbb\xbf"), False
            yield number, raw.decode("utf-8", errors="replace").rstrip("\r")
    if pending and not skipping:
        number += 1
        if first:
            pending = pending.removeprefix(b"\xef\xbb\xbf")
        yield number, pending.decode("utf-8", errors="replace").rstrip("\r")


def iter_records(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Join the lines of a quoted field that holds line breaks (RFC 4180 §2.6) into one
    record, numbered by its first line. A quote left open past `MAX_LINE` characters, or
    to the end of the file, is taken literally: its lines come out one by one, so one
    stray quote cannot swallow the rest of the file."""
    held: list[tuple[int, str]] = []
    size, open_quote = 0, False
    for number, line in lines:
        if held:
            if line != _TOO_LONG and size + 1 + len(line) <= MAX_LINE:
                held.append((number, line))
                size += 1 + len(line)
                open_quote ^= line.count('"') % 2 == 1
                if not open_quote:
                    yield held[0][0], "\n".join(text for _, text in held)
                    held = []
                continue
            yield from held
            held = []
        if line != _TOO_LONG and line.count('"') % 2 == 1:
            held, size, open_quote = [(number, line)], len(line), True
        else:
            yield number, line
    yield from held


def _split(line: str, separator: str) -> list[str]:
    if '"' not in line:  # the common case, ten times faster than a csv.reader
        return [value.lstrip() for value in line.split(separator)]
    return next(csv.reader([line], delimiter=separator, skipinitialspace=True), [])


def parse_header(line: str) -> Header:
    counts = {sep: line.count(sep) for sep in SEPARATORS}
    separator = max(SEPARATORS, key=lambda s: counts[s]) if any(counts.values()) else ","
    names = [n.strip().lower() for n in _split(line, separator)]
    index = next((i for i, n in enumerate(names) if n in NUMBER_COLUMNS), None)
    if index is None:
        raise HeaderError("the first row must be a header with a 'number' column")
    columns = [n for i, n in enumerate(names) if i != index and n]
    return Header(separator, index, columns, names)


def _fields(line: str, header: Header) -> list[str]:
    values = _split(line, header.separator)
    if len(values) == 1 and len(header.names) > 1:
        for other in SEPARATORS:
            if other != header.separator and other in line:
                return _split(line, other)
    return values


def has_letters(value: str) -> bool:
    return any(ch.isalpha() for ch in value)


def normalize(value: str, region: str | None) -> str | None:
    """The E.164 form of a number as people write it, or None. Letters never count
    (phonenumbers would read them as a vanity keypad)."""
    value = value.strip()
    if not value or has_letters(value) or len(value) > MAX_VALUE:
        return None
    if value.startswith("00"):
        value = "+" + value[2:]
    if _PLAIN_E164.match(value) and _valid_plain_e164(value):
        return value
    return to_e164(value, region)


def _valid_plain_e164(value: str) -> bool:
    """Whether '+digits' is valid as written, without phonenumbers' parser (a third of
    the cost of a 100,000-row import). False sends the value to the full parser."""
    digits = value[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            if not national or national[0] == "0":
                return False
            number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
            regions = COUNTRY_CODE_TO_REGION_CODE[code]
            if len(regions) == 1 or code == 1:
                # NANP regions split by area code, with no leading-digit rules: the first
                # region that accepts the number is its region. One pass per candidate
                # instead of is_valid_number's region lookup plus validation.
                return any(phonenumbers.is_valid_number_for_region(number, r) for r in regions)
            return bool(phonenumbers.is_valid_number(number))
    return False


def read_rows(
    lines: Iterable[tuple[int, str]], region: str | None
) -> Iterator[Accepted | Rejected | Header]:
    """The header first, then an outcome for every non-blank data line. Duplicates
    within the file are rejected; the caller checks those already stored."""
    header: Header | None = None
    seen: set[str] = set()
    for number, line in iter_records(lines):
        if line == _TOO_LONG:
            if header is None:
                raise HeaderError("the header row is too long")
            yield Rejected(number, "", TOO_LONG)
            continue
        if not line.strip() or (header and not line.strip(header.separator + " \t")):
            continue
        if header is None:
            header = parse_header(line)
            yield header
            continue
        yield _row(number, line, header, region, seen)


def _row(
    number: int, line: str, header: Header, region: str | None, seen: set[str]
) -> Accepted | Rejected:
    values = _fields(line, header)
    if len(values) <= header.number_index:
        return Rejected(number, line.strip()[:MAX_VALUE], MISSING)
    raw = values[header.number_index].strip()
    if len(values) < len(header.names):
        return Rejected(number, raw[:MAX_VALUE], MISSING)
    e164 = normalize(raw, region)
    if e164 is None:
        return Rejected(number, raw[:MAX_VALUE], INVALID)
    if e164 in seen:
        return Rejected(number, raw[:MAX_VALUE], DUPLICATE)
    seen.add(e164)
    extra = {
        name: values[i].strip()
        for i, name in enumerate(header.names)
        if i != header.number_index and name
    }
    return Accepted(number, e164, extra)


def template(columns: Iterable[str] = ("first_name",)) -> str:
    """The downloadable template: a header and one example row."""
    names = ["number", *columns]
    return ",".join(names) + "\r\n" + ",".join(["+14155550123", *("" for _ in columns)]) + "\r\n"
