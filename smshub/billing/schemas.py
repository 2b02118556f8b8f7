"""API shapes for rating rules (U2)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Prefix = Annotated[
    str,
    Field(
        min_length=2,
        max_length=16,
        pattern=r"^\+[0-9]{1,15}$",
        description="'+' and the leading digits of the destinations it prices, e.g. +1 or +4477.",
    ),
]
Price = Annotated[Decimal, Field(ge=0, le=100, max_digits=12, decimal_places=5)]


class RatingRule(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)
    prefix: Prefix
    price_per_segment: Price


def _distinct(rules: list[RatingRule]) -> list[RatingRule]:
    seen: set[str] = set()
    for rule in rules:
        if rule.prefix in seen:
            raise ValueError(f"prefix {rule.prefix} appears twice")
        seen.add(rule.prefix)
    return rules


class RatingRules(BaseModel):
    """The tenant's whole price list; PUT replaces it."""

    model_config = ConfigDict(extra="forbid")
    rules: Annotated[list[RatingRule], Field(max_length=1000), AfterValidator(_distinct)]
