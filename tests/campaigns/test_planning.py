"""Pure campaign rules: placeholders, pacing and quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smshub.campaigns import planning as p

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "names"),
    [("Hi", []), ("Hi {Name}, {city} {name}", ["name", "city"]), ("{{literal}}", [])],
)
def test_placeholders(body: str, names: list[str]) -> None:
    assert p.placeholders(body) == names


@pytest.mark.parametrize("body", ["Hi {", "Hi {}", "{a!r}", "{a:>5}", "{a.b}"])
def test_broken_placeholders_raise(body: str) -> None:
    with pytest.raises(ValueError):
        p.placeholders(body)


def test_render_fills_and_blanks() -> None:
    assert p.render("Hi {Name} from {city}", {"name": "Ann"}) == "Hi Ann from "


@pytest.mark.parametrize(("rate", "size"), [(1, 1), (10, 2), (100, 20), (500, 100), (5000, 500)])
def test_batch_size(rate: int, size: int) -> None:
    assert p.batch_size(rate) == size


def test_next_tick_keeps_the_average_and_resets_after_a_stall() -> None:
    assert p.next_tick(T0, 20, 100, T0 + timedelta(seconds=0.05)) == T0 + timedelta(seconds=0.2)
    late = T0 + timedelta(seconds=30)
    assert p.next_tick(T0, 20, 100, late) == late


@pytest.mark.parametrize(
    ("e164", "now", "until"),
    [
        # New York in winter is UTC-5: 23:00 local is inside 21:00-08:00.
        (
            "+12125550100",
            datetime(2026, 1, 1, 4, 0, tzinfo=UTC),
            datetime(2026, 1, 1, 13, 0, tzinfo=UTC),
        ),
        # 07:59 local: still inside, until 08:00 the same day.
        (
            "+12125550100",
            datetime(2026, 1, 1, 12, 59, tzinfo=UTC),
            datetime(2026, 1, 1, 13, 0, tzinfo=UTC),
        ),
        # 08:00 local: outside.
        ("+12125550100", datetime(2026, 1, 1, 13, 0, tzinfo=UTC), None),
        # Paris (UTC+1): 22:00 local.
        (
            "+33612345678",
            datetime(2026, 1, 1, 21, 0, tzinfo=UTC),
            datetime(2026, 1, 2, 7, 0, tzinfo=UTC),
        ),
    ],
)
def test_quiet_hours_in_the_recipients_zone(
    e164: str, now: datetime, until: datetime | None
) -> None:
    assert p.quiet_until(e164, now, "21:00", "08:00") == until


def test_quiet_hours_within_a_day_and_off() -> None:
    noon_ny = datetime(2026, 1, 1, 17, 0, tzinfo=UTC)
    assert p.quiet_until("+12125550100", noon_ny, "12:00", "13:00") == datetime(
        2026, 1, 1, 18, 0, tzinfo=UTC
    )
    assert p.quiet_until("+12125550100", noon_ny, None, None) is None


@pytest.mark.parametrize("value", ["24:00", "9:00", "12:60", "noon", ""])
def test_bad_times(value: str) -> None:
    with pytest.raises(ValueError):
        p.check_hhmm(value)
