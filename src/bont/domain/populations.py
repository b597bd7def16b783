"""Patient populations and age ranges as the labels state them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

ADULT_AGE_YEARS = Decimal(18)


class Population(StrEnum):
    ADULT = "adult"
    PEDIATRIC = "pediatric"


@dataclass(frozen=True)
class AgeRange:
    """Ages in years, ``minimum`` inclusive and ``below`` exclusive (``2 ≤ age < 18`` for 2–17 years)."""

    minimum: Decimal
    below: Decimal | None = None

    def __post_init__(self) -> None:
        if self.minimum < 0 or (self.below is not None and self.below <= self.minimum):
            raise ValueError(f"invalid age range {self.minimum}–{self.below}")

    def contains(self, age_years: Decimal) -> bool:
        return age_years >= self.minimum and (self.below is None or age_years < self.below)

    def __str__(self) -> str:
        low = format(self.minimum.normalize(), "f")
        if self.below is None:
            return f"{low} years and older"
        return f"{low} to {format((self.below - 1).normalize(), 'f')} years"
