"""Disclosure control: what of a registry analysis may be shown, and whether a dataset may leave the clinic.

Small-cell suppression is the threshold rule of statistical disclosure control for frequency tables
(Hundepool A et al., *Statistical Disclosure Control*, Wiley 2012, ch. 5): a count from 1 to one under the
minimum cell size (default 11: the CMS cell size suppression policy hides counts of 1 to 10) is not shown, nor
is any figure that would give it back: a rate or interval computed from it, a mean or quartile of so few, or a
second cell of a table whose total is known (complementary suppression: with only one cell of a known total
hidden, subtraction would reveal it). A zero is shown: it describes no one.

k-anonymity (Sweeney L, "k-anonymity: a model for protecting privacy", *Int J Uncertain Fuzziness Knowl Based
Syst* 2002;10:557–570) is the gate of an export: every combination of the quasi-identifiers (age band, sex,
indication) must be shared by at least k series, or the export is refused.

The 95 % interval of a proportion is Wilson's score interval (Wilson EB, *J Am Stat Assoc* 1927;22:209–212),
which unlike the Wald interval stays within 0 and 1 and keeps its coverage for small counts and extreme rates.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from bont.domain.errors import BontError, FieldError
from bont.domain.research.analyses import (
    ADVERSE_EVENTS,
    CONTINUATION,
    DOSES,
    RESPONDERS,
    RETREATMENT,
    SCALE_CHANGE,
    AdverseEventRate,
    CohortSize,
    ContinuationRow,
    ContinuationStatus,
    DiscontinuationReason,
    DoseByCycle,
    Method,
    ResponderCycle,
    RetreatmentCurve,
    ScaleChange,
)

# The standard normal quantile of 0.975: a two-sided 95 % interval.
Z_95 = 1.959963984540054

QUASI_IDENTIFIERS: tuple[str, ...] = ("age_band", "sex", "indication")


@dataclass(frozen=True)
class MinimumCell:
    """The smallest count a published table shows (setting ``BONT_RESEARCH_MIN_CELL``)."""

    DEFAULT: ClassVar[int] = 11
    value: int = DEFAULT

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int) or self.value < 1:
            raise FieldError("min_cell", "the minimum cell size is a whole number of at least 1")


@dataclass(frozen=True)
class MinimumK:
    """The k an export's k-anonymity must reach (setting ``BONT_RESEARCH_MIN_K``)."""

    DEFAULT: ClassVar[int] = 5
    value: int = DEFAULT

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int) or self.value < 1:
            raise FieldError("min_k", "k is a whole number of at least 1")


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval for a proportion of ``successes`` in ``n`` (95 % with the default ``z``)."""
    if n < 1 or not 0 <= successes <= n:
        raise ValueError("a proportion needs 0 <= successes <= n and n >= 1")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # Rounding must not push a bound past the observed proportion or out of [0, 1] (it equals p at 0 and n).
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


@dataclass(frozen=True)
class PublishedCell:
    """A count as published: ``None`` when suppressed, under the minimum or because it would give one back."""

    count: int | None

    @property
    def suppressed(self) -> bool:
        return self.count is None

    def __str__(self) -> str:
        return "suppressed" if self.count is None else str(self.count)


Row = TypeVar("Row")


@dataclass(frozen=True)
class PublishedTable(Generic[Row]):
    """A published analysis: its rows, its method, and how many figures were withheld under which minimum."""

    method: Method
    rows: tuple[Row, ...]
    minimum: int
    suppressed: int

    @property
    def note(self) -> str:
        if not self.suppressed:
            return f"No figure suppressed (minimum cell size {self.minimum})."
        figures = "figure was" if self.suppressed == 1 else "figures were"
        return (
            f"{self.suppressed} {figures} suppressed: counts from 1 to {self.minimum - 1} are not shown, nor any "
            "rate, interval, mean, quartile, curve step or other cell that would give one back."
        )


class _Suppressor:
    """Applies one minimum and counts what it withheld, so each table can say so."""

    def __init__(self, minimum: MinimumCell) -> None:
        self.minimum = minimum.value
        self.withheld = 0

    def small(self, count: int) -> bool:
        return 0 < count < self.minimum

    def cell(self, count: int, *, hide: bool = False) -> PublishedCell:
        if hide or self.small(count):
            self.withheld += 1
            return PublishedCell(None)
        return PublishedCell(count)

    def figure(self, value: float | None, *, hide: bool) -> float | None:
        if value is None:
            return None
        if hide:
            self.withheld += 1
            return None
        return value

    def complement(self, counts: Sequence[int]) -> tuple[bool, ...]:
        """Which cells of a set with a known total to hide: the small ones, and when exactly one is small the
        next smallest with it, so that subtraction from the total gives neither back. The second is not a zero
        while another cell is left: a hidden zero beside one small cell would leave that cell's count known."""
        hidden = [self.small(count) for count in counts]
        if sum(hidden) == 1 and len(counts) > 1:
            shown = [index for index, hide in enumerate(hidden) if not hide]
            hidden[min(shown, key=lambda index: (counts[index] == 0, counts[index]))] = True
        return tuple(hidden)


@dataclass(frozen=True)
class PublishedSize:
    patients: PublishedCell
    sessions: PublishedCell
    minimum: int


def publish_size(size: CohortSize, minimum: MinimumCell = MinimumCell()) -> PublishedSize:
    """A cohort's size; its sessions are hidden with too few patients (they would describe those few)."""
    suppress = _Suppressor(minimum)
    few = suppress.small(size.patients)
    return PublishedSize(suppress.cell(size.patients), suppress.cell(size.sessions, hide=few), minimum.value)


@dataclass(frozen=True)
class PublishedResponderCycle:
    indication: str
    instrument: str
    definition_id: str
    cycle: int
    responders: PublishedCell
    non_responders: PublishedCell
    not_assessable: PublishedCell
    rate: float | None  # responders among the judged, 0 to 1
    ci_low: float | None
    ci_high: float | None


def publish_responders(
    rows: Iterable[ResponderCycle], minimum: MinimumCell = MinimumCell()
) -> PublishedTable[PublishedResponderCycle]:
    """Responder rates with Wilson intervals. Responders and non-responders are hidden together: the judged of
    a cycle are the same under every definition of an instrument, so one alone would be their difference."""
    suppress = _Suppressor(minimum)
    published = []
    for row in rows:
        hide = suppress.small(row.responders) or suppress.small(row.non_responders)
        interval = wilson_interval(row.responders, row.judged) if row.judged else None
        published.append(
            PublishedResponderCycle(
                row.indication,
                row.instrument,
                row.definition_id,
                row.cycle,
                suppress.cell(row.responders, hide=hide),
                suppress.cell(row.non_responders, hide=hide),
                suppress.cell(row.not_assessable),
                suppress.figure(row.responders / row.judged if row.judged else None, hide=hide),
                suppress.figure(interval[0] if interval else None, hide=hide),
                suppress.figure(interval[1] if interval else None, hide=hide),
            )
        )
    return PublishedTable(RESPONDERS, tuple(published), suppress.minimum, suppress.withheld)


@dataclass(frozen=True)
class PublishedScaleChange:
    indication: str
    instrument: str
    cycle: int
    n: PublishedCell
    mean_change: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None


# The interval of a mean from n, mean and SD, or None when it has none (fewer than two values).
MeanInterval = Callable[[int, float, float], tuple[float, float] | None]


def publish_scale_changes(
    rows: Iterable[ScaleChange], mean_ci: MeanInterval, minimum: MinimumCell = MinimumCell()
) -> PublishedTable[PublishedScaleChange]:
    """Changes from baseline with their 95 % intervals from ``mean_ci(n, mean, sd)`` (Student's t, computed
    where a t quantile is at hand); with too few patients nothing of the row is shown."""
    suppress = _Suppressor(minimum)
    published = []
    for row in rows:
        hide = suppress.small(row.n)
        interval = None if hide else mean_ci(row.n, row.mean_change, row.sd)
        low, high = interval if interval is not None else (None, None)
        published.append(
            PublishedScaleChange(
                row.indication,
                row.instrument,
                row.cycle,
                suppress.cell(row.n),
                suppress.figure(row.mean_change, hide=hide),
                suppress.figure(row.sd, hide=hide),
                suppress.figure(low, hide=hide),
                suppress.figure(high, hide=hide),
            )
        )
    return PublishedTable(SCALE_CHANGE, tuple(published), suppress.minimum, suppress.withheld)


@dataclass(frozen=True)
class PublishedDose:
    product: str
    cycle: int
    sessions: PublishedCell
    median: float | None  # units of ``product``
    q1: float | None
    q3: float | None


def publish_doses(rows: Iterable[DoseByCycle], minimum: MinimumCell = MinimumCell()) -> PublishedTable[PublishedDose]:
    """Doses per product and cycle; the quartiles of too few sessions are their doses, so they go with them."""
    suppress = _Suppressor(minimum)
    published = []
    for row in rows:
        hide = suppress.small(row.sessions)
        published.append(
            PublishedDose(
                row.product,
                row.cycle,
                suppress.cell(row.sessions),
                suppress.figure(row.median, hide=hide),
                suppress.figure(row.q1, hide=hide),
                suppress.figure(row.q3, hide=hide),
            )
        )
    return PublishedTable(DOSES, tuple(published), suppress.minimum, suppress.withheld)


@dataclass(frozen=True)
class PublishedStep:
    day: int
    survival: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class PublishedCurve:
    indication: str
    patients: PublishedCell
    events: PublishedCell
    censored: PublishedCell
    steps: tuple[PublishedStep, ...]
    median_days: int | None


def publish_retreatment(
    curves: Iterable[RetreatmentCurve], minimum: MinimumCell = MinimumCell()
) -> PublishedTable[PublishedCurve]:
    """Kaplan–Meier curves of time to retreatment. A curve of too few patients or retreatments is withheld
    whole (each of its steps would be one of them); a shown curve stops where fewer than the minimum remain at
    risk, and shows no per-day counts (successive numbers at risk would give each day's few back)."""
    suppress = _Suppressor(minimum)
    published = []
    for curve in curves:
        withhold = suppress.small(curve.patients) or suppress.small(curve.events)
        steps = () if withhold else _steps_at_risk(curve, suppress.minimum)
        suppress.withheld += len(curve.steps) - len(steps)
        median = curve.median_days if steps and curve.median_days is not None else None
        if median is not None and median > steps[-1].day:
            median = None
        published.append(
            PublishedCurve(
                curve.indication,
                suppress.cell(curve.patients),
                suppress.cell(curve.events, hide=withhold),
                # Each patient's last interval is censored: with the patients hidden, so are their censored intervals.
                suppress.cell(curve.censored, hide=withhold),
                steps,
                median,
            )
        )
    return PublishedTable(RETREATMENT, tuple(published), suppress.minimum, suppress.withheld)


def _steps_at_risk(curve: RetreatmentCurve, minimum: int) -> tuple[PublishedStep, ...]:
    steps = []
    for step in curve.steps:
        if step.at_risk < minimum:
            break
        steps.append(PublishedStep(step.day, step.survival, step.ci_low, step.ci_high))
    return tuple(steps)


@dataclass(frozen=True)
class PublishedAdverseEventRate:
    term: str
    serious: bool
    events: PublishedCell
    sessions: PublishedCell
    per_100_sessions: float | None


def publish_adverse_events(
    rows: Iterable[AdverseEventRate], minimum: MinimumCell = MinimumCell()
) -> PublishedTable[PublishedAdverseEventRate]:
    """Adverse events per 100 sessions; a rare term's rate is withheld with its count (rate × sessions is it)."""
    suppress = _Suppressor(minimum)
    published = []
    for row in rows:
        hide = suppress.small(row.events) or suppress.small(row.sessions)
        published.append(
            PublishedAdverseEventRate(
                row.term,
                row.serious,
                suppress.cell(row.events, hide=hide),
                suppress.cell(row.sessions),
                suppress.figure(row.per_100_sessions, hide=hide),
            )
        )
    return PublishedTable(ADVERSE_EVENTS, tuple(published), suppress.minimum, suppress.withheld)


@dataclass(frozen=True)
class PublishedContinuationRow:
    status: ContinuationStatus
    reason: DiscontinuationReason | None
    patients: PublishedCell


def publish_continuation(
    rows: Sequence[ContinuationRow], minimum: MinimumCell = MinimumCell()
) -> PublishedTable[PublishedContinuationRow]:
    """Continuation and its reasons. The rows add up to the cohort's series, a total the cohort's size makes
    known, so a single small row is hidden with the next smallest (complementary suppression)."""
    suppress = _Suppressor(minimum)
    hidden = suppress.complement([row.patients for row in rows])
    published = tuple(
        PublishedContinuationRow(row.status, row.reason, suppress.cell(row.patients, hide=hide))
        for row, hide in zip(rows, hidden, strict=True)
    )
    return PublishedTable(CONTINUATION, published, suppress.minimum, suppress.withheld)


class ExportRefused(BontError):
    """A dataset may not leave the clinic; ``reason`` says why without naming or describing anyone."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class KReport:
    """How many records share each combination of the quasi-identifiers, without the combinations: the sizes
    of the equivalence classes, smallest first."""

    quasi_identifiers: tuple[str, ...]
    records: int
    class_sizes: tuple[int, ...]

    @property
    def classes(self) -> int:
        return len(self.class_sizes)

    @property
    def smallest(self) -> int | None:
        return self.class_sizes[0] if self.class_sizes else None

    def classes_under(self, k: MinimumK) -> int:
        return sum(1 for size in self.class_sizes if size < k.value)

    def to_mapping(self, k: MinimumK) -> dict[str, object]:
        """The report as written beside an export (``k-anonymity.json``)."""
        return {
            "quasi_identifiers": list(self.quasi_identifiers),
            "records": self.records,
            "classes": self.classes,
            "smallest_class": self.smallest,
            "k": k.value,
            "classes_under_k": self.classes_under(k),
            "passes": self.classes_under(k) == 0,
        }


def k_anonymity(rows: Iterable[tuple[str, ...]], quasi_identifiers: tuple[str, ...] = QUASI_IDENTIFIERS) -> KReport:
    """The k-anonymity report of the records' quasi-identifier values (one tuple per record, in the order of
    ``quasi_identifiers``: by default age band, sex and indication of each patient's series)."""
    classes = Counter(tuple(row) for row in rows)
    for values in classes:
        if len(values) != len(quasi_identifiers):
            raise ValueError(f"each record gives {len(quasi_identifiers)} quasi-identifiers")
    return KReport(quasi_identifiers, sum(classes.values()), tuple(sorted(classes.values())))


def check_k(report: KReport, k: MinimumK = MinimumK()) -> None:
    """Refuse the export when a combination of the quasi-identifiers is shared by fewer than k records."""
    under = report.classes_under(k)
    if under:
        classes = "combination is" if under == 1 else "combinations are"
        raise ExportRefused(
            f"export refused: {under} {classes} of {', '.join(report.quasi_identifiers)} shared by fewer than "
            f"k = {k.value} records (the smallest by {report.smallest}); export a wider cohort, in which every "
            f"combination holds at least {k.value}"
        )
