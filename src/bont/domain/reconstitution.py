"""Reconstitution arithmetic: concentrations, diluent volumes, what a syringe can measure, and the label's
two-step preparations (diluent in the vial, then the dose diluted further in syringes).

All arithmetic is ``Decimal``. Volumes are rounded to what a 1 mL syringe with 0.01 mL marks can measure (a
10 mL dosing syringe: 0.1 mL); the units actually delivered are recomputed from the measured volume so the
rounding is never hidden.
"""

from __future__ import annotations

import math
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


# The label's own syringe tables (pediatric detrusor: 3.6 mL of toxin, 6.4 mL of saline) are written to 0.1 mL,
# the resolution of the 10 mL syringes an intradetrusor dose is prepared in.
DOSING_SYRINGE_MARK_ML = Decimal("0.1")


@dataclass(frozen=True)
class Preparation:
    """A label's two-step preparation: reconstitute each vial with ``vial_diluent_ml`` in the vial, then draw the
    dose in equal parts into ``syringes`` dosing syringes and add saline to each until it holds ``syringe_ml``.

    The BOTOX intradetrusor method: for adult detrusor overactivity with a neurologic condition a 200 U vial gets
    6 mL, and 2 mL of it go into each of three 10 mL syringes topped up with 8 mL of saline. A preparation whose
    syringes need no saline is the one-step case.
    """

    product: str
    vial_units: Decimal
    vial_diluent_ml: Decimal
    syringes: int
    syringe_ml: Decimal

    def __post_init__(self) -> None:
        if self.vial_units <= 0 or self.vial_diluent_ml <= 0 or self.syringe_ml <= 0:
            raise ValueError("vial units, diluent and syringe volumes must be positive")
        if self.syringes < 1:
            raise ValueError("a preparation needs at least one syringe")

    @property
    def key(self) -> str:
        vial = f"{format_amount(self.vial_units)}U/{format_amount(self.vial_diluent_ml)}mL"
        return f"{vial}/{self.syringes}x{format_amount(self.syringe_ml)}mL"

    @property
    def vial_concentration(self) -> Concentration:
        return Concentration.of(self.product, self.vial_units, self.vial_diluent_ml)

    @property
    def final_volume_ml(self) -> Decimal:
        return self.syringe_ml * self.syringes

    def for_dose(self, dose: Units) -> PreparedDose:
        """The steps for ``dose``: how many vials, and how much toxin and saline go into each syringe.

        Raises ``ValueError`` when the dose does not fit the syringes."""
        if dose.product != self.product:
            raise MixedProductUnitsError(dose.product, self.product)
        if dose.amount <= 0:
            raise ValueError("the dose must be more than 0 U")
        exact = dose.amount / self.vial_concentration.units_per_ml / self.syringes
        drawn = exact.quantize(DOSING_SYRINGE_MARK_ML, rounding=ROUND_HALF_EVEN) or DOSING_SYRINGE_MARK_ML
        if drawn > self.syringe_ml:
            raise ValueError(
                f"{format_amount(dose.amount)} U needs {format_amount(round(exact, 2))} mL of reconstituted toxin in "
                f"each syringe, more than the {format_amount(self.syringe_ml)} mL the syringe is filled to"
            )
        return PreparedDose(self, dose, math.ceil(dose.amount / self.vial_units), drawn, self.syringe_ml - drawn)


@dataclass(frozen=True)
class PreparedDose:
    """A preparation worked out for one dose: every volume, and the units the syringes then hold."""

    preparation: Preparation
    dose: Units
    vials: int
    draw_ml: Decimal  # reconstituted toxin drawn into each syringe
    saline_ml: Decimal  # saline added to each syringe

    @property
    def vial_diluent_ml(self) -> Decimal:
        return self.preparation.vial_diluent_ml

    @property
    def syringes(self) -> int:
        return self.preparation.syringes

    @property
    def syringe_ml(self) -> Decimal:
        return self.preparation.syringe_ml

    @property
    def final_volume_ml(self) -> Decimal:
        return self.preparation.final_volume_ml

    @property
    def units_per_syringe(self) -> Units:
        """Units the syringe holds as measured: recomputed from the drawn volume, so rounding is never hidden."""
        return Units(self.dose.product, self.draw_ml * self.preparation.vial_concentration.units_per_ml)

    @property
    def delivered(self) -> Units:
        return Units(self.dose.product, self.units_per_syringe.amount * self.syringes)

    @property
    def final_concentration(self) -> Concentration:
        return Concentration(self.dose.product, self.delivered.amount / self.final_volume_ml)

    @property
    def rounded(self) -> bool:
        return self.delivered.amount != self.dose.amount

    def units_per_injection(self, volume_ml: Decimal) -> Decimal:
        return volume_ml * self.final_concentration.units_per_ml
