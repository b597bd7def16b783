"""Small server-drawn SVG charts: an outcome over time with the sessions marked, and responder rates.

Coordinates are computed here; the templates only draw them (no JavaScript, no chart library)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bont.domain.outcomes import Direction, Measurement
from bont.services.outcomes import OutcomeSeries

WIDTH, HEIGHT = 320, 140
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 16, 22
# Round steps an axis is ticked at (times a power of ten), and month steps for dates: at most a few ticks each.
NICE_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5))
MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60)
MOST_TICKS = 5


def nice_ticks(low: float, high: float) -> list[Decimal]:
    """Round values from ``low`` to ``high`` (each a multiple of 1, 2, 2.5 or 5 times a power of ten), at most
    ``MOST_TICKS`` of them, ``low`` and ``high`` included when they are round themselves."""
    span = Decimal(str(high)) - Decimal(str(low))
    magnitude = Decimal(10) ** (span.adjusted() - 1)
    step = next(
        (s * m for m in (magnitude, magnitude * 10, magnitude * 100) for s in NICE_STEPS if span / (s * m) <= 4),
        span,
    )
    first = (Decimal(str(low)) / step).to_integral_value(rounding="ROUND_CEILING") * step
    ticks: list[Decimal] = []
    value = first
    while value <= Decimal(str(high)) and len(ticks) < MOST_TICKS + 1:
        ticks.append(value.normalize() if value != 0 else Decimal(0))
        value += step
    return ticks


def month_ticks(first: date, last: date) -> list[tuple[date, str]]:
    """The first day of every few months from ``first`` to ``last`` (at most ``MOST_TICKS``), labelled "Mar 2026",
    or by the year alone when a tick falls once a year or less often."""
    months = (last.year - first.year) * 12 + last.month - first.month
    step = next((s for s in MONTH_STEPS if months / s <= MOST_TICKS - 1), MONTH_STEPS[-1])
    start = first.year * 12 + first.month - 1 + (0 if first.day == 1 else 1)
    # From a January for years, else from a month that is a multiple of the step (January, April, … for 3).
    start = -(-start // (12 if step >= 12 else step)) * (12 if step >= 12 else step)
    ticks: list[tuple[date, str]] = []
    for index in range(start, last.year * 12 + last.month, step):
        day = date(index // 12, index % 12 + 1, 1)
        ticks.append((day, str(day.year) if step >= 12 else f"{day:%b %Y}"))
    return ticks


@dataclass(frozen=True)
class PlotPoint:
    x: float
    y: float
    label: str
    baseline: bool


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class OutcomePlot:
    width: int
    height: int
    points: tuple[PlotPoint, ...]
    sessions: tuple[Tick, ...]  # x of each session, labelled with its date
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    better: str  # "lower is better" or "higher is better"
    unit: str = ""  # of the values, written above the scale

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def plot_bottom(self) -> int:
        return self.height - BOTTOM

    @property
    def plot_top(self) -> int:
        return TOP


def _level(measurement: Measurement) -> float | None:
    """The plotted level: the value, or the grade's rank on its scale."""
    score = measurement.score
    if score.value is not None:
        return float(score.value)
    if score.rank is not None:
        return float(score.rank)
    return None


def outcome_plot(series: OutcomeSeries, sessions: tuple[date, ...]) -> OutcomePlot | None:
    points = [(m, cycle, level) for m, cycle in series.points if (level := _level(m)) is not None]
    if not points:
        return None
    days = [m.on for m, _, _ in points] + list(sessions)
    first, last = min(days), max(days)
    span = max((last - first).days, 1)
    instrument = series.instrument
    if instrument.grades:
        low, high = 0.0, float(len(instrument.grades) - 1)
    else:
        levels = [level for _, _, level in points]
        low = float(instrument.minimum) if instrument.minimum is not None else min(levels)
        high = float(instrument.maximum) if instrument.maximum is not None else max(levels)
        high = max(high, max(levels))
    high = high if high > low else low + 1

    def x_of(day: date) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (day - first).days / span

    def y_of(level: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (level - low) / (high - low))

    if instrument.grades:
        y_ticks = tuple(Tick(y_of(float(rank)), grade) for rank, grade in enumerate(instrument.grades))
    else:
        y_ticks = tuple(Tick(y_of(float(level)), f"{level:f}") for level in nice_ticks(low, high))
    x_ticks = tuple(Tick(x_of(day), label) for day, label in month_ticks(first, last))
    return OutcomePlot(
        width=WIDTH,
        height=HEIGHT,
        points=tuple(
            PlotPoint(x_of(m.on), y_of(level), f"{m.on:%Y-%m-%d}: {m.score}", cycle == 0) for m, cycle, level in points
        ),
        sessions=tuple(Tick(x_of(day), f"session {day:%Y-%m-%d}") for day in sessions),
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        better="lower is better" if instrument.direction is Direction.LOWER_IS_BETTER else "higher is better",
        unit="" if instrument.grades else instrument.unit or "",
    )
