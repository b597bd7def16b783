"""Disclosure control: what of a registry analysis may be shown, and whether a dataset may leave the clinic.

Small-cell suppression is the threshold rule of statistical disclosure control for frequency tables
(Hundepool A et al., *Statistical Disclosure Control*, Wiley 2012, ch. 5): a count from 1 to one under the
minimum cell size (default 11: the CMS cell size suppression policy hides counts of 1 to 10) is not shown, nor
is any figure that would give it back: a rate or interval computed from it, a mean or quartile of so few, or a
second cell of a table whose total is known (complementary suppression: with only one cell of a known total
hidden, subtraction would reveal it). A zero is shown (it describes no one) unless its partner is hidden: a zero
beside a hidden count of responders tells that every judged patient failed.

Totals a reader knows, and what each table does about them:

- A cohort's sessions less its patients are its repeat sessions, in a one-indication cohort the retreatments of
  its Kaplan–Meier curve: the size hides its sessions while that difference is small, and the adverse-event
  table (whose sessions column is the cohort's) and the dose table (whose cells add up to it) follow.
- The dose table's cells add up to the cohort's sessions, the continuation rows to its series, the curves'
  retreatments to its session days less its series: in each, the hidden cells are never one alone and together
  hold at least the minimum (complementary suppression by the next smallest cell).
- A responder row's three cells add up to the series that reached the cycle, a total every other definition's row
  and the dose table give: its hidden cells likewise are never one alone and together hold at least the minimum.
- A Kaplan–Meier curve's per-day steps give each day's events and numbers at risk back (a ratio of successive
  survivals is 1 − events ÷ at risk, and Greenwood's band gives the at risk): only the survival at the end of each
  :data:`RETREATMENT_BIN_DAYS`-day interval is published, once at least the minimum of retreatments has
  accrued since the last published step and while at least the minimum remain at risk.
- A cohort that differs from the whole clinic by fewer than the minimum patients or sessions would, subtracted
  from the whole, describe those few: its size and every analysis of it are withheld.

Residual risk, accepted because the researcher role is trusted under a data-use agreement and every query is in
the access log: two arbitrary cohorts that differ by a few patients (say "age 18 and over" and "age 30 and over")
can still be differenced, as can linked tables in ways the rules above do not foresee (such as two responder
definitions that judge the same patients differently). Only the whole clinic is checked against, because it is
the one cohort every researcher can ask for.

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
    RETREATMENT_BIN_DAYS,
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
    RetreatmentStep,
    ScaleChange,
)

# The standard normal quantile of 0.975: a two-sided 95 % interval.
Z_95 = 1.959963984540054

# The interval of a mean from n, mean and SD, or None when it has none (fewer than two values).
MeanInterval = Callable[[int, float, float], tuple[float, float] | None]

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

    def complement(self, counts: Sequence[int], hidden: Sequence[bool] = ()) -> tuple[bool, ...]:
        """Which cells of a set with a known total to hide: the small ones (and any already ``hidden``), and then
        the next smallest while one alone is hidden or the hidden together hold fewer than the minimum, so that
        subtraction from the total gives neither one back nor a small sum of them. A zero is the last chosen: a
        hidden zero beside one small cell would leave that cell's count known."""
        hide = [self.small(count) or bool(hidden and hidden[index]) for index, count in enumerate(counts)]
        while self._recoverable(counts, hide):
            shown = [index for index, hidden_ in enumerate(hide) if not hidden_]
            if not shown:
                break
            hide[min(shown, key=lambda index: (counts[index] == 0, counts[index]))] = True
        return tuple(hide)

    def _recoverable(self, counts: Sequence[int], hidden: Sequence[bool]) -> bool:
        together = sum(count for count, hide in zip(counts, hidden, strict=True) if hide)
        return sum(hidden) == 1 or 0 < together < self.minimum


@dataclass(frozen=True)
class PublishedSize:
    patients: PublishedCell
    sessions: PublishedCell
    minimum: int
    near_whole: bool = False  # withheld with every analysis: the whole clinic less it would describe a few


def differs_from_whole_by_few(size: CohortSize, whole: CohortSize, minimum: MinimumCell = MinimumCell()) -> bool:
    """Whether the whole clinic less the cohort is 1 to one under the minimum patients or sessions: the cohort's
    figures, subtracted from the whole clinic's, would then describe those few."""
    return any(
        0 < all_ - part < minimum.value
        for all_, part in ((whole.patients, size.patients), (whole.sessions, size.sessions))
    )


def publish_size(
    size: CohortSize, minimum: MinimumCell = MinimumCell(), whole: CohortSize | None = None
) -> PublishedSize:
    """A cohort's size. Its sessions are hidden with too few patients (they would describe those few) and while
    its repeat sessions (sessions less patients: in a one-indication cohort, its retreatments) are too few; both
    are hidden when the cohort differs from the ``whole`` clinic by too few (see the module's docstring)."""
    suppress = _Suppressor(minimum)
    if whole is not None and differs_from_whole_by_few(size, whole, minimum):
        return PublishedSize(
            suppress.cell(size.patients, hide=True),
            suppress.cell(size.sessions, hide=True),
            minimum.value,
            near_whole=True,
        )
    few = suppress.small(size.patients) or suppress.small(size.sessions - size.patients)
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
    """Responder rates with Wilson intervals.

    A row's responders, non-responders and not assessable add up to the series that reached the cycle, which is
    the same in every definition's row of the indication and cycle and is given by the dose table too: so it is
    taken as known, and a row's hidden cells are never one alone and together hold at least the minimum
    (complementary suppression). Responders and non-responders are hidden together: the rate is their ratio, and
    a zero beside its hidden partner would tell that every judged patient had the other verdict. The counts of
    different definitions differ (a percent rule cannot judge a zero baseline, an at-most rule can), so each row
    is protected on its own."""
    suppress = _Suppressor(minimum)
    published = []
    for row in rows:
        r, n, na = _responder_cells(suppress, row)
        interval = wilson_interval(row.responders, row.judged) if row.judged else None
        published.append(
            PublishedResponderCycle(
                row.indication,
                row.instrument,
                row.definition_id,
                row.cycle,
                suppress.cell(row.responders, hide=r),
                suppress.cell(row.non_responders, hide=n),
                suppress.cell(row.not_assessable, hide=na),
                suppress.figure(row.responders / row.judged if row.judged else None, hide=r),
                suppress.figure(interval[0] if interval else None, hide=r),
                suppress.figure(interval[1] if interval else None, hide=r),
            )
        )
    return PublishedTable(RESPONDERS, tuple(published), suppress.minimum, suppress.withheld)


def _responder_cells(suppress: _Suppressor, row: ResponderCycle) -> tuple[bool, bool, bool]:
    """Which of the row's responders, non-responders and not assessable to hide."""
    counts = (row.responders, row.non_responders, row.not_assessable)
    hidden = [suppress.small(count) for count in counts]
    # Pairing and complementing each may call for the other: repeat until neither hides another cell.
    while True:
        if hidden[0] or hidden[1]:
            hidden[0] = hidden[1] = True
        before = list(hidden)
        hidden = list(suppress.complement(counts, hidden))
        if hidden == before:
            return hidden[0], hidden[1], hidden[2]


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


def publish_scale_changes(
    rows: Iterable[ScaleChange], mean_ci: MeanInterval, minimum: MinimumCell = MinimumCell()
) -> PublishedTable[PublishedScaleChange]:
    """Changes from baseline with their 95 % intervals from ``mean_ci(n, mean, sd)`` (Student's t, computed
    where a t quantile is at hand; none for a single patient); with too few patients nothing of the row is shown."""
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


def publish_doses(rows: Sequence[DoseByCycle], minimum: MinimumCell = MinimumCell()) -> PublishedTable[PublishedDose]:
    """Doses per product and cycle. The cells add up to the cohort's sessions, a total the size states, so the
    whole table is one set for complementary suppression; the quartiles of a hidden cell's sessions go with it
    (of so few they are their doses)."""
    suppress = _Suppressor(minimum)
    hidden = suppress.complement([row.sessions for row in rows])
    published = tuple(
        PublishedDose(
            row.product,
            row.cycle,
            suppress.cell(row.sessions, hide=hide),
            suppress.figure(row.median, hide=hide),
            suppress.figure(row.q1, hide=hide),
            suppress.figure(row.q3, hide=hide),
        )
        for row, hide in zip(rows, hidden, strict=True)
    )
    return PublishedTable(DOSES, published, suppress.minimum, suppress.withheld)


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
    curves: Sequence[RetreatmentCurve], minimum: MinimumCell = MinimumCell()
) -> PublishedTable[PublishedCurve]:
    """Kaplan–Meier curves of time to retreatment, binned (see the module's docstring). Every interval ends in a
    retreatment or is censored, one per series: the curves' retreatments and censored intervals add up to the
    cohort's session days, so they are one set for complementary suppression. A curve's patients are its series,
    hidden with its censored intervals; a curve whose patients or retreatments are hidden is withheld whole. The
    median is shown only within the shown part of its curve."""
    suppress = _Suppressor(minimum)
    few = [suppress.small(curve.patients) for curve in curves]
    # A curve of few patients is withheld whole, its retreatments with it (asked for alone, its cohort hides them).
    hidden = suppress.complement([curve.events for curve in curves] + [curve.censored for curve in curves], few + few)
    published = []
    for index, curve in enumerate(curves):
        events_hidden, series_hidden = hidden[index], hidden[len(curves) + index]
        steps = () if events_hidden or series_hidden else _binned_steps(curve, suppress.minimum)
        # Steps merged into a bin are shown in it; those past the last shown step are withheld.
        suppress.withheld += sum(1 for step in curve.steps if not steps or step.day > steps[-1].day)
        median = curve.median_days if steps and curve.median_days is not None else None
        if median is not None and median > steps[-1].day:
            median = None
        published.append(
            PublishedCurve(
                curve.indication,
                suppress.cell(curve.patients, hide=series_hidden),
                suppress.cell(curve.events, hide=events_hidden),
                suppress.cell(curve.censored, hide=series_hidden),
                steps,
                median,
            )
        )
    return PublishedTable(RETREATMENT, tuple(published), suppress.minimum, suppress.withheld)


def _binned_steps(curve: RetreatmentCurve, minimum: int) -> tuple[PublishedStep, ...]:
    """The survival at the end of each bin by which at least ``minimum`` retreatments have accrued since the last
    published step, while at least ``minimum`` intervals remain at risk at the bin's last step."""
    published: list[PublishedStep] = []
    accrued = 0
    bins: dict[int, list[RetreatmentStep]] = {}
    for step in curve.steps:
        bins.setdefault(max(1, math.ceil(step.day / RETREATMENT_BIN_DAYS)), []).append(step)
    for index in sorted(bins):
        last = bins[index][-1]
        if last.at_risk < minimum:
            break
        accrued += sum(step.events for step in bins[index])
        if accrued >= minimum:
            published.append(PublishedStep(index * RETREATMENT_BIN_DAYS, last.survival, last.ci_low, last.ci_high))
            accrued = 0
    return tuple(published)


@dataclass(frozen=True)
class PublishedAdverseEventRate:
    term: str
    serious: bool
    events: PublishedCell
    sessions: PublishedCell
    per_100_sessions: float | None


def publish_adverse_events(
    rows: Iterable[AdverseEventRate], minimum: MinimumCell = MinimumCell(), *, sessions_withheld: bool = False
) -> PublishedTable[PublishedAdverseEventRate]:
    """Adverse events per 100 sessions; a rare term's rate is withheld with its count (rate × sessions is it).
    The sessions are the cohort's: ``sessions_withheld`` when its size hides them, and then every rate goes too
    (events ÷ rate would give them back)."""
    suppress = _Suppressor(minimum)
    published = []
    for row in rows:
        hide = suppress.small(row.events) or suppress.small(row.sessions)
        published.append(
            PublishedAdverseEventRate(
                row.term,
                row.serious,
                suppress.cell(row.events, hide=hide),
                suppress.cell(row.sessions, hide=sessions_withheld),
                suppress.figure(row.per_100_sessions, hide=hide or sessions_withheld),
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
    known, so a small row is hidden with the next smallest until the hidden hold at least the minimum
    (complementary suppression)."""
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
        *others, last = (name.replace("_", " ") for name in report.quasi_identifiers)
        names = f"{', '.join(others)} and {last}" if others else last
        raise ExportRefused(
            f"export refused: {under} {classes.split()[0]} of {names} {classes.split()[1]} shared by fewer than "
            f"k = {k.value} records (the smallest by {report.smallest}); export a wider cohort, in which every "
            f"combination holds at least {k.value}"
        )
