"""Rating [pure]: longest prefix wins; unpriced destinations are counted, not guessed."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from smshub.billing.rating import RateTable, estimate

TABLE = RateTable([("+1", Decimal("0.01")), ("+1202", Decimal("0.02")), ("+44", Decimal("0.05"))])


def test_longest_prefix_wins():
    assert TABLE.price("+12025550100") == Decimal("0.02")
    assert TABLE.price("+14155550100") == Decimal("0.01")
    assert TABLE.price("+447700900123") == Decimal("0.05")
    assert TABLE.price("+61400123456") is None
    assert not RateTable([]) and TABLE


def test_estimate_prices_segments_and_counts_the_unpriced():
    got = estimate(TABLE, [("+12025550100", 2), ("+14155550100", 1), ("+61400123456", 3)])
    assert got.cost == Decimal("0.05") and got.unpriced == 1


@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_price_matches_a_scan_of_every_rule(e164: str):
    rules = [("+1", Decimal(1)), ("+12", Decimal(2)), ("+123", Decimal(3)), ("+9", Decimal(9))]
    matches = [(len(p), price) for p, price in rules if e164.startswith(p)]
    expected = max(matches)[1] if matches else None
    assert RateTable(rules).price(e164) == expected
