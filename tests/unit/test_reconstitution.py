"""Reconstitution arithmetic in Decimal: splits add up, syringe volumes stay within half a mark."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bont.domain.doses import Units
from bont.domain.errors import MixedProductUnitsError
from bont.domain.reconstitution import (
    SYRINGE_MARK_ML,
    Concentration,
    diluent_for_concentration,
    draw,
    measurable_volume,
    split_units,
)

totals = st.decimals(min_value=Decimal("0.01"), max_value=5000, places=2)
site_counts = st.integers(min_value=1, max_value=40)
vials = st.sampled_from([Decimal(50), Decimal(100), Decimal(200), Decimal(300), Decimal(500)])
diluents = st.decimals(min_value=Decimal("0.5"), max_value=30, places=2)


@given(totals, site_counts)
def test_sites_add_up_to_the_total(total: Decimal, sites: int) -> None:
    parts = split_units(total, sites)
    assert len(parts) == sites
    assert sum(parts) == total
    assert max(parts) - min(parts) <= Decimal("0.01")


@given(st.decimals(min_value=Decimal("0.01"), max_value=500, places=2), vials, diluents)
def test_volume_times_concentration_is_the_dose_within_half_a_syringe_mark(
    units: Decimal, vial_units: Decimal, diluent_ml: Decimal
) -> None:
    concentration = Concentration.of("onabotulinumtoxinA", vial_units, diluent_ml)
    result = draw(Units("onabotulinumtoxinA", units), concentration)
    assert result.volume_ml % SYRINGE_MARK_ML == 0
    # Half a syringe mark, plus the last digit of 28-digit Decimal arithmetic on concentrations such as 50/1.5.
    bound = SYRINGE_MARK_ML / 2 * concentration.units_per_ml + Decimal("1e-20")
    if result.volume_ml > SYRINGE_MARK_ML:  # the smallest measurable volume may round a tiny dose up further
        assert abs(result.delivered.amount - units) <= bound
    assert result.delivered.amount == result.volume_ml * concentration.units_per_ml


@given(vials, st.decimals(min_value=Decimal("0.5"), max_value=50, places=2))
def test_diluent_for_a_concentration_is_the_inverse_of_the_dilution(vial_units: Decimal, per_0_1: Decimal) -> None:
    diluent = diluent_for_concentration(vial_units, per_0_1)
    assert abs(Concentration.of("abobotulinumtoxinA", vial_units, diluent).units_per_0_1_ml - per_0_1) < Decimal(
        "1e-20"
    )


def test_label_dilutions() -> None:
    assert Concentration.of("onabotulinumtoxinA", Decimal(100), Decimal(2)).units_per_0_1_ml == 5
    assert Concentration.of("onabotulinumtoxinA", Decimal(100), Decimal(8)).units_per_0_1_ml == Decimal("1.25")
    assert Concentration.of("abobotulinumtoxinA", Decimal(300), Decimal("2.5")).units_per_0_1_ml == 12
    assert diluent_for_concentration(Decimal(200), Decimal(5)) == 4


def test_a_positive_dose_never_rounds_to_nothing() -> None:
    assert measurable_volume(Decimal("0.001")) == Decimal("0.01")
    assert measurable_volume(Decimal("0.125")) == Decimal("0.12")  # half to even
    with pytest.raises(ValueError, match="negative"):
        measurable_volume(Decimal(-1))


def test_a_dose_cannot_be_drawn_from_another_products_solution() -> None:
    with pytest.raises(MixedProductUnitsError):
        draw(Units("incobotulinumtoxinA", Decimal(10)), Concentration("onabotulinumtoxinA", Decimal(50)))
