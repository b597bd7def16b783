"""Doses are Decimal and bound to their product: units of two products never add up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bont.domain.doses import CountRange, UnitRange, Units, UnitsPerKg, WeightCappedDose, total_units
from bont.domain.errors import MixedProductUnitsError
from bont.domain.windows import Window

PRODUCTS = ["onabotulinumtoxinA", "abobotulinumtoxinA", "incobotulinumtoxinA", "rimabotulinumtoxinB"]
amounts = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)
weights = st.decimals(min_value=Decimal("0.5"), max_value=200, places=1, allow_nan=False, allow_infinity=False)


def test_units_of_two_products_cannot_be_added() -> None:
    with pytest.raises(MixedProductUnitsError, match="cannot be combined"):
        _ = Units("onabotulinumtoxinA", Decimal(100)) + Units("abobotulinumtoxinA", Decimal(300))


def test_units_of_two_products_cannot_be_compared() -> None:
    with pytest.raises(MixedProductUnitsError):
        _ = Units("onabotulinumtoxinA", Decimal(100)) < Units("incobotulinumtoxinA", Decimal(100))


def test_units_refuse_floats_and_negative_amounts() -> None:
    with pytest.raises(TypeError):
        Units("onabotulinumtoxinA", 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        Units("onabotulinumtoxinA", Decimal(-1))


@given(st.lists(amounts, max_size=40))
def test_sum_of_one_products_doses_is_exact(values: list[Decimal]) -> None:
    doses = [Units("onabotulinumtoxinA", value) for value in values]
    assert total_units("onabotulinumtoxinA", doses).amount == sum(values, Decimal(0))


@given(st.sampled_from(PRODUCTS), st.sampled_from(PRODUCTS), amounts, amounts)
def test_mixed_products_never_sum(left: str, right: str, a: Decimal, b: Decimal) -> None:
    if left == right:
        assert (Units(left, a) + Units(right, b)).amount == a + b
    else:
        with pytest.raises(MixedProductUnitsError):
            total_units(left, [Units(left, a), Units(right, b)])


@given(weights, st.decimals(min_value=1, max_value=30, places=1), st.decimals(min_value=1, max_value=2000, places=0))
def test_weight_capped_dose_is_the_lesser_of_per_kg_and_cap(weight: Decimal, per_kg: Decimal, cap: Decimal) -> None:
    dose = WeightCappedDose("abobotulinumtoxinA", per_kg, cap).for_weight(weight)
    assert dose.amount == min(per_kg * weight, cap)
    assert dose.amount <= cap
    assert dose.amount <= per_kg * weight


def test_pediatric_upper_limb_cap_switches_at_the_crossover_weight() -> None:
    cap = WeightCappedDose("onabotulinumtoxinA", Decimal(6), Decimal(200))
    assert cap.for_weight(Decimal(20)).amount == 120
    assert cap.for_weight(Decimal("33.3")).amount == Decimal("199.8")
    assert cap.for_weight(Decimal(40)).amount == 200


@given(weights)
def test_per_kg_range_scales_with_weight(weight: Decimal) -> None:
    dose_range = UnitsPerKg("onabotulinumtoxinA", Decimal(3), Decimal(6)).for_weight(weight)
    assert dose_range.minimum == 3 * weight
    assert dose_range.maximum == 6 * weight


def test_unit_range_contains_its_bounds_and_rejects_another_products_units() -> None:
    label_range = UnitRange("incobotulinumtoxinA", Decimal(50), Decimal(200))
    assert label_range.contains(Units("incobotulinumtoxinA", Decimal(50)))
    assert label_range.contains(Units("incobotulinumtoxinA", Decimal(200)))
    assert not label_range.contains(Units("incobotulinumtoxinA", Decimal("200.01")))
    with pytest.raises(MixedProductUnitsError):
        label_range.contains(Units("onabotulinumtoxinA", Decimal(100)))


def test_invalid_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid"):
        UnitRange("onabotulinumtoxinA", Decimal(10), Decimal(5))
    with pytest.raises(ValueError, match="invalid"):
        CountRange(3, 1)


def test_three_month_window_counts_calendar_months() -> None:
    window = Window(months=3)
    assert window.start(date(2026, 5, 31)) == date(2026, 3, 1)
    assert window.start(date(2026, 6, 15)) == date(2026, 3, 16)


def test_thirty_day_window_includes_its_last_day() -> None:
    assert Window(days=30).start(date(2026, 3, 30)) == date(2026, 3, 1)


def test_a_window_has_days_or_months_not_both() -> None:
    with pytest.raises(ValueError, match="either"):
        Window(days=30, months=1)
