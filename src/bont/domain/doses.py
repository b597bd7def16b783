"""Doses bound to their product.

A unit of onabotulinumtoxinA is not a unit of abobotulinumtoxinA: every US label says the potency
units are product-specific and cannot be converted. ``Units`` therefore carries its product, and
adding or comparing units of two products raises ``MixedProductUnitsError`` instead of summing.
All amounts are ``Decimal``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from bont.domain.errors import MixedProductUnitsError


def _same_product(left: str, right: str) -> None:
    if left != right:
        raise MixedProductUnitsError(left, right)


@dataclass(frozen=True)
class Units:
    """An amount of one product's units."""

    product: str
    amount: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("units are Decimal, never float")
        if self.amount < 0:
            raise ValueError(f"units cannot be negative: {self.amount}")

    @classmethod
    def zero(cls, product: str) -> Units:
        return cls(product, Decimal(0))

    def __add__(self, other: object) -> Units:
        if not isinstance(other, Units):
            return NotImplemented
        _same_product(self.product, other.product)
        return Units(self.product, self.amount + other.amount)

    def __sub__(self, other: object) -> Units:
        if not isinstance(other, Units):
            return NotImplemented
        _same_product(self.product, other.product)
        return Units(self.product, self.amount - other.amount)

    def __mul__(self, factor: object) -> Units:
        if isinstance(factor, bool) or not isinstance(factor, (int, Decimal)):
            return NotImplemented
        return Units(self.product, self.amount * factor)

    __rmul__ = __mul__

    def _compare(self, other: object) -> Decimal:
        if not isinstance(other, Units):
            raise TypeError(f"cannot compare Units with {type(other).__name__}")
        _same_product(self.product, other.product)
        return self.amount - other.amount

    def __lt__(self, other: object) -> bool:
        return self._compare(other) < 0

    def __le__(self, other: object) -> bool:
        return self._compare(other) <= 0

    def __gt__(self, other: object) -> bool:
        return self._compare(other) > 0

    def __ge__(self, other: object) -> bool:
        return self._compare(other) >= 0

    def __str__(self) -> str:
        return f"{format_amount(self.amount)} U {self.product}"


def total_units(product: str, doses: list[Units] | tuple[Units, ...]) -> Units:
    """The sum of doses of one product; raises if any dose is of another product."""
    for dose in doses:
        _same_product(product, dose.product)
    return Units(product, sum((dose.amount for dose in doses), Decimal(0)))


@dataclass(frozen=True)
class _ProductRange:
    """An inclusive range of one product's amounts; fixed when ``minimum == maximum``."""

    product: str
    minimum: Decimal
    maximum: Decimal
    unit: ClassVar[str]

    def __post_init__(self) -> None:
        if self.minimum < 0 or self.maximum < self.minimum:
            raise ValueError(f"invalid {self.unit} range {self.minimum}–{self.maximum}")

    @property
    def is_fixed(self) -> bool:
        return self.minimum == self.maximum

    def __str__(self) -> str:
        if self.is_fixed:
            return f"{format_amount(self.minimum)} {self.unit}"
        return f"{format_amount(self.minimum)}–{format_amount(self.maximum)} {self.unit}"


class UnitRange(_ProductRange):
    """A dose range of one product, in its units."""

    unit = "U"

    def contains(self, dose: Units) -> bool:
        _same_product(self.product, dose.product)
        return self.minimum <= dose.amount <= self.maximum


class UnitsPerKg(_ProductRange):
    """A weight-based dose range of one product in units per kilogram of body weight."""

    unit = "U/kg"

    def for_weight(self, weight_kg: Decimal) -> UnitRange:
        return UnitRange(self.product, self.minimum * weight_kg, self.maximum * weight_kg)


@dataclass(frozen=True)
class WeightCappedDose:
    """The label's "the lesser of X U/kg or Y U"."""

    product: str
    units_per_kg: Decimal
    cap: Decimal

    def for_weight(self, weight_kg: Decimal) -> Units:
        return Units(self.product, min(self.units_per_kg * weight_kg, self.cap))

    def __str__(self) -> str:
        return f"the lesser of {format_amount(self.units_per_kg)} U/kg or {format_amount(self.cap)} U"


@dataclass(frozen=True)
class CountRange:
    """A number of injection sites (or muscles), inclusive."""

    minimum: int
    maximum: int

    def __post_init__(self) -> None:
        if self.minimum < 0 or self.maximum < self.minimum:
            raise ValueError(f"invalid count range {self.minimum}–{self.maximum}")

    @property
    def is_fixed(self) -> bool:
        return self.minimum == self.maximum

    def __str__(self) -> str:
        return str(self.minimum) if self.is_fixed else f"{self.minimum}–{self.maximum}"


def format_amount(amount: Decimal) -> str:
    """A Decimal without trailing zeros or exponent: 155, 12.5, 0.05."""
    text = format(amount.normalize(), "f")
    return text
