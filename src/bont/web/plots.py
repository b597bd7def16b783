"""Small server-drawn SVG charts: an outcome over time with the sessions marked, and responder rates.

Coordinates are computed here; the templates only draw them (no JavaScript, no chart library)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bont.domain.outcomes import Direction, Measurement
from bont.services.outcomes import OutcomeSeries

WIDTH, HEIGHT = 320, 140
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 10, 22


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
        y_ticks = tuple(
            Tick(y_of(level), f"{Decimal(str(level)).normalize():f}") for level in (low, (low + high) / 2, high)
        )
    years = sorted({first.year, last.year})
    x_ticks = tuple(Tick(x_of(max(first, date(year, 1, 1))), str(year)) for year in years)
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
    )
