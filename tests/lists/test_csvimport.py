"""The pure CSV reader: table tests and a property over chunk boundaries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smshub.lists import csvimport as c


def _read(text: bytes, region: str | None = "US", chunk: int = 7) -> list[object]:
    chunks = [text[i : i + chunk] for i in range(0, len(text), chunk)]
    return list(c.read_rows(c.iter_lines(chunks), region))


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("+14155550101", None, "+14155550101"),
        ("(415) 555-0101", "US", "+14155550101"),
        ("0014155550101", None, "+14155550101"),
        ("0612345678", "FR", "+33612345678"),
        ("+1", "US", None),
        ("1-800-FLOWERS", "US", None),
        ("", "US", None),
        ("4155550101", None, None),
    ],
)
def test_normalize(value: str, region: str | None, expected: str | None) -> None:
    assert c.normalize(value, region) == expected


def test_header_sniffs_separator_and_number_column() -> None:
    h = c.parse_header("Name;Phone;City")
    assert (h.separator, h.number_index, h.columns) == (";", 1, ["name", "city"])
    with pytest.raises(c.HeaderError):
        c.parse_header("name,city")


def test_quoted_fields_with_separators_and_newlines() -> None:
    rows = _read(b'number,note\r\n"+14155550101","a, b"\r\n+14155550102,"two\nlines"\r\n')
    accepted = [r for r in rows if isinstance(r, c.Accepted)]
    assert [(r.row, r.fields["note"]) for r in accepted] == [(2, "a, b"), (3, "two\nlines")]


def test_a_stray_quote_does_not_swallow_the_rest_of_the_file() -> None:
    rows = _read(b'number,note\n+14155550101,"unclosed\n+14155550102,x\n')
    assert [(r.row, r.e164) for r in rows if isinstance(r, c.Accepted)] == [
        (2, "+14155550101"),
        (3, "+14155550102"),
    ]
    rest = b"".join(b"+1415556%04d,y\n" % i for i in range(1000))
    long = b'number,note\n+14155550101,"open\n' + rest
    accepted = [r for r in _read(long, chunk=4096) if isinstance(r, c.Accepted)]
    assert len(accepted) == 1001 and accepted[-1].row == 1002


@given(
    st.lists(
        st.text(
            alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
            | st.sampled_from(",;\n\"'"),
            max_size=30,
        ),
        min_size=1,
        max_size=20,
    )
)
def test_fields_read_back_as_the_csv_module_wrote_them(notes: list[str]) -> None:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["number", "note"])
    numbers = [f"+1415555{i:04d}" for i in range(len(notes))]
    writer.writerows(zip(numbers, notes, strict=True))
    rows = _read(out.getvalue().encode(), chunk=13)
    got = [(r.e164, r.fields["note"]) for r in rows if isinstance(r, c.Accepted)]
    assert got == [(n, note.strip()) for n, note in zip(numbers, notes, strict=True)]


def test_overlong_line_is_one_row_error_and_reading_goes_on() -> None:
    text = b"number\n" + b"9" * (c.MAX_LINE * 3) + b"\n+14155550101\n"
    rows = _read(text, chunk=1000)
    assert rows[1] == c.Rejected(2, "", c.TOO_LONG)
    assert rows[2] == c.Accepted(3, "+14155550101", {})


def test_template_has_a_number_column() -> None:
    assert c.template().startswith("number,first_name\r\n")


@given(st.integers(min_value=1, max_value=64))
def test_chunk_boundaries_do_not_change_the_result(chunk: int) -> None:
    text = "\ufeffnumber;name\r\n+14155550101;Å\r\n\r\n4155550102;B\n+1;C\n".encode()
    assert _read(text, chunk=chunk) == _read(text, chunk=len(text))


@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_fast_e164_path_agrees_with_phonenumbers(value: str) -> None:
    from smshub.numbers.rules import to_e164

    assert c.normalize(value, None) == to_e164(value, None)
