"""The outcome plots' axes (``bont.web.plots``): round values on the scale, months or years on the time axis, never
two labels on one spot (a plot once read "2.165" and "2025 2026" side by side)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from bont.web.plots import MOST_TICKS, month_ticks, nice_ticks


def test_a_scale_is_ticked_at_round_values() -> None:
    assert [f"{t:f}" for t in nice_ticks(0, 28)] == ["0", "10", "20"]
    assert [f"{t:f}" for t in nice_ticks(0, 87)] == ["0", "25", "50", "75"]
    assert [f"{t:f}" for t in nice_ticks(1.2, 4.33)] == ["2", "3", "4"]
    assert [f"{t:f}" for t in nice_ticks(0, 1)] == ["0", "0.25", "0.5", "0.75", "1"]


@given(st.floats(-1000, 1000, allow_nan=False), st.floats(0.01, 5000, allow_nan=False))
def test_every_tick_is_a_round_value_inside_the_scale(low: float, span: float) -> None:
    ticks = nice_ticks(low, low + span)
    assert 1 <= len(ticks) <= MOST_TICKS + 1
    assert all(Decimal(str(low)) <= tick <= Decimal(str(low + span)) for tick in ticks)
    steps = {b - a for a, b in pairwise(ticks)}
    assert len(steps) <= 1  # evenly spaced
    for step in steps:  # by 1, 2, 2.5 or 5 times a power of ten, and every tick a multiple of it
        assert step.scaleb(-step.adjusted()).normalize() in {Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)}
        assert all(tick % step == 0 for tick in ticks)


def test_the_time_axis_names_months_or_years_once_each() -> None:
    assert month_ticks(date(2025, 12, 20), date(2026, 1, 10)) == [(date(2026, 1, 1), "Jan 2026")]
    assert [label for _, label in month_ticks(date(2024, 11, 3), date(2026, 9, 1))] == [
        "Jan 2025",
        "Jul 2025",
        "Jan 2026",
        "Jul 2026",
    ]
    assert [label for _, label in month_ticks(date(2016, 2, 1), date(2026, 11, 1))] == ["2017", "2022"]


@given(st.dates(date(2000, 1, 1), date(2040, 1, 1)), st.integers(0, 8000))
def test_month_ticks_fall_inside_the_span_in_order_without_repeating_a_label(first: date, days: int) -> None:
    last = first + timedelta(days=days)
    ticks = month_ticks(first, last)
    assert len(ticks) <= MOST_TICKS
    assert all(first <= day <= last for day, _ in ticks)
    assert [day for day, _ in ticks] == sorted({day for day, _ in ticks})
    assert len({label for _, label in ticks}) == len(ticks)
