"""Rating [pure]: the price of a segment to a destination, by its longest prefix (U2)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal


class RateTable:
    """Prices per segment by E.164 prefix ("+1", "+1415", "+44"); the longest prefix of
    a destination wins, and a destination no prefix covers has no price."""

    def __init__(self, rules: Iterable[tuple[str, Decimal]]):
        self._prices = dict(rules)
        self._lengths = sorted({len(p) for p in self._prices}, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._prices)

    def price(self, e164: str) -> Decimal | None:
        for length in self._lengths:
            found = self._prices.get(e164[:length])
            if found is not None:
                return found
        return None


@dataclass(frozen=True)
class Estimate:
    cost: Decimal
    unpriced: int  # destinations no rule covers: the cost leaves them out


def estimate(table: RateTable, segments_by_destination: Iterable[tuple[str, int]]) -> Estimate:
    """The cost of sending these segments, and how many destinations had no price."""
    total, unpriced = Decimal(0), 0
    for e164, segments in segments_by_destination:
        price = table.price(e164)
        if price is None:
            unpriced += 1
        else:
            total += price * segments
    return Estimate(total, unpriced)
