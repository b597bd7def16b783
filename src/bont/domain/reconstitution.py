"""Reconstitution arithmetic: concentrations, diluent volumes and what a syringe can measure.

All arithmetic is ``Decimal``. Volumes are rounded to what a 1 mL syringe with 0.01 mL marks can measure;
the units actually delivered are recomputed from the measured volume so the rounding is never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from bont.domain.doses import Units, format_amount
from bont.domain.errors import MixedProductUnitsError

SYRINGE_MARK_ML = Decimal("0.01")  # the graduation of a 1 mL syringe
SYRINGE_CAPACITY_ML = Decimal(1)
UNIT_PRECISION = Decimal("0.01")  # units per site are planned to hundredths of a unit


@dataclass(frozen=True)
class Concentration:
    """Units of one product per millilitre of solution."""

    product: str
    units_per_ml: Decimal

    def __post_init__(self) -> None:
        if self.units_per_ml <= 0:
            raise ValueError("a concentration must be positive")

    @classmethod
    def of(cls, product: str, vial_units: Decimal, diluent_ml: Decimal) -> Concentration:
        if vial_units <= 0:
            raise ValueError("vial units must be positive")
        if diluent_ml <= 0:
            raise ValueError("diluent volume must be positive")
        return cls(product, vial_units / diluent_ml)

    @property
    def units_per_0_1_ml(self) -> Decimal:
        return self.units_per_ml / 10

    def diluent_for(self, vial_units: Decimal) -> Decimal:
        """The diluent that brings a vial of ``vial_units`` to this concentration."""
        return vial_units / self.units_per_ml

    def __str__(self) -> str:
        return f"{format_amount(round(self.units_per_0_1_ml, 4))} U per 0.1 mL"


def diluent_for_concentration(vial_units: Decimal, units_per_0_1_ml: Decimal) -> Decimal:
    """The inverse of a dilution: mL of diluent for a wanted number of units per 0.1 mL."""
    if vial_units <= 0 or units_per_0_1_ml <= 0:
        raise ValueError("vial units and concentration must be positive")
    return vial_units / (units_per_0_1_ml * 10)


def measurable_volume(volume_ml: Decimal) -> Decimal:
    """The nearest volume a 0.01 mL-graduated syringe can measure (never zero for a positive dose)."""
    if volume_ml < 0:
        raise ValueError("a volume cannot be negative")
    measured = volume_ml.quantize(SYRINGE_MARK_ML, rounding=ROUND_HALF_EVEN)
    if measured == 0 and volume_ml > 0:
        return SYRINGE_MARK_ML
    return measured


@dataclass(frozen=True)
class Draw:
    """A dose turned into a syringe volume: what was wanted, what can be measured, what is delivered."""

    wanted: Units
    exact_volume_ml: Decimal
    volume_ml: Decimal
    delivered: Units

    @property
    def rounded(self) -> bool:
        return self.volume_ml != self.exact_volume_ml


def draw(dose: Units, concentration: Concentration) -> Draw:
    """The measurable volume for ``dose``; the delivered units differ from the wanted by at most half a mark."""
    if dose.product != concentration.product:
        raise MixedProductUnitsError(dose.product, concentration.product)
    exact = dose.amount / concentration.units_per_ml
    volume = measurable_volume(exact)
    return Draw(dose, exact, volume, Units(dose.product, volume * concentration.units_per_ml))


def split_units(total: Decimal, sites: int) -> list[Decimal]:
    """Divide ``total`` over ``sites`` in hundredths of a unit so that the parts add up exactly."""
    if sites <= 0:
        raise ValueError("at least one site is needed")
    hundredths = int((total / UNIT_PRECISION).to_integral_value(rounding=ROUND_HALF_EVEN))
    base, extra = divmod(hundredths, sites)
    return [(base + (1 if index < extra else 0)) * UNIT_PRECISION for index in range(sites)]


@dataclass(frozen=True)
class DilutionCheck:
    """A dilution worked out for one product's vial, and whether its label lists it."""

    product: str
    vial_units: Decimal
    diluent_ml: Decimal
    concentration: Concentration
    in_label: bool
    exact_diluent_ml: Decimal  # before rounding to what a syringe can measure

    @property
    def rounded(self) -> bool:
        return self.exact_diluent_ml != self.diluent_ml
