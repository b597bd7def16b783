"""Treatment cycles, responder status and continuation rules.

Outcomes attach to treatment cycles. For one patient and one indication, the *baseline* is the last
measurement on or before the day of the first session (a measurement taken on a session's day is taken
before that injection); *cycle n* runs from the day after session n to the day of session n + 1. A
measurement that covers a period (a 28-day diary) belongs to the cycle its last day falls in, and one
whose period contains a session strictly inside it belongs to no cycle, because it mixes two.

Each cycle is judged on its last measurement (the end-of-cycle assessment) against the indication's
cited responder definition: a percent improvement from baseline, an improvement of points or grades, or a
level reached at follow-up. Threshold comparisons are exact: percentages are compared by
cross-multiplication in ``Decimal`` (50.0% is a responder at "≥ 50%"), and the percentage shown is rounded
down to 0.1 so that the figure shown never passes a threshold the exact value misses.

A *continuation rule* (stop after N cycles with less than X% improvement; stop once the value has stayed
below a level for N consecutive months) is a plain value a clinic may configure; bont's defaults (NICE
TA260 for chronic migraine) are data with citations. A clinic that keeps the diary only before each session
has one period per cycle, weeks apart: for "consecutive months" each cycle's end-of-cycle period stands for
that cycle, as it does for the responder verdicts. When several rules apply, any one that says stop is
the advice (NICE TA260 lists its stopping rules with "or"). Every verdict and decision names what it rests on,
and lists anything unverified it used, so an unverified figure never decides silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from bont.domain.evidence import Citation, Grade
from bont.domain.outcomes.instruments import Direction, Instrument, Score
from bont.domain.windows import Window

TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Measurement:
    """A dated score. ``period_start`` is the first day a period measure (a diary) covers; ``on`` its last."""

    on: date
    score: Score
    period_start: date | None = None


@dataclass(frozen=True)
class CycleAssignment:
    measurement: Measurement
    cycle: int | None  # 0 = baseline, n = after session n; None when the period straddles a session
    reason: str | None = None


def session_days(sessions: Iterable[date]) -> tuple[date, ...]:
    """The distinct session days in order (two records on one day are one session)."""
    return tuple(sorted(set(sessions)))


def assign_cycle(sessions: Sequence[date], measurement: Measurement) -> CycleAssignment:
    """The cycle a measurement belongs to, given the sorted distinct session days."""
    days = session_days(sessions)
    start = measurement.period_start
    if start is not None and start > measurement.on:
        return CycleAssignment(measurement, None, "the measured period ends before it starts")
    if start is not None and any(start < day < measurement.on for day in days):
        return CycleAssignment(measurement, None, "the measured period contains a session, so it mixes two cycles")
    return CycleAssignment(measurement, sum(1 for day in days if day < measurement.on))


def assign_cycles(sessions: Iterable[date], measurements: Iterable[Measurement]) -> tuple[CycleAssignment, ...]:
    days = session_days(sessions)
    return tuple(assign_cycle(days, measurement) for measurement in measurements)


def _last_per_cycle(
    sessions: Sequence[date], measurements: Iterable[Measurement], instrument: str
) -> dict[int, Measurement]:
    chosen: dict[int, Measurement] = {}
    for assignment in assign_cycles(sessions, (m for m in measurements if m.score.instrument == instrument)):
        if assignment.cycle is None:
            continue
        current = chosen.get(assignment.cycle)
        if current is None or assignment.measurement.on >= current.on:
            chosen[assignment.cycle] = assignment.measurement
    return chosen


# -- change from baseline, in the instrument's better direction


def improvement(direction: Direction, baseline: Decimal, follow_up: Decimal) -> Decimal:
    """How much better the follow-up is than the baseline (negative when worse)."""
    return baseline - follow_up if direction is Direction.LOWER_IS_BETTER else follow_up - baseline


def percent_improvement(direction: Direction, baseline: Decimal, follow_up: Decimal) -> Decimal | None:
    """The improvement as a percentage of a positive baseline, rounded down to 0.1 (None when baseline ≤ 0)."""
    if baseline <= 0:
        return None
    exact = improvement(direction, baseline, follow_up) * 100 / baseline
    return exact.quantize(TENTH, rounding=ROUND_FLOOR)


def meets_percent(direction: Direction, baseline: Decimal, follow_up: Decimal, threshold: Decimal) -> bool:
    """Exactly whether the improvement is at least ``threshold`` percent of a positive baseline."""
    if baseline <= 0:
        raise ValueError("a percent improvement needs a positive baseline")
    return improvement(direction, baseline, follow_up) * 100 >= threshold * baseline


# -- responder definitions and verdicts


class ResponderRule(StrEnum):
    PERCENT_IMPROVEMENT = "percent-improvement"  # improved by at least threshold % of baseline
    POINTS_IMPROVEMENT = "points-improvement"  # improved by at least threshold points
    GRADES_IMPROVEMENT = "grades-improvement"  # improved by at least threshold grades of an ordinal scale
    AT_MOST = "at-most"  # follow-up value at most threshold (no baseline needed)
    AT_LEAST = "at-least"  # follow-up value at least threshold (no baseline needed)
    REACHES_GRADE = "reaches-grade"  # follow-up grade is target_grade (no baseline needed)

    @property
    def needs_baseline(self) -> bool:
        return self in (
            ResponderRule.PERCENT_IMPROVEMENT,
            ResponderRule.POINTS_IMPROVEMENT,
            ResponderRule.GRADES_IMPROVEMENT,
        )

    @property
    def uses_grades(self) -> bool:
        return self in (ResponderRule.GRADES_IMPROVEMENT, ResponderRule.REACHES_GRADE)


@dataclass(frozen=True)
class ResponderDefinition:
    """A published responder threshold for one instrument in one indication, with its citation."""

    id: str
    indication: str
    instrument: str
    rule: ResponderRule
    description: str
    citation: Citation
    threshold: Decimal | None = None
    target_grade: str | None = None

    @property
    def verified(self) -> bool:
        return self.citation.grade is not Grade.UNVERIFIED

    @property
    def threshold_text(self) -> str:
        if self.rule is ResponderRule.REACHES_GRADE:
            return f"reaches '{self.target_grade}'"
        figure = format(self.threshold, "f") if self.threshold is not None else "?"
        return {
            ResponderRule.PERCENT_IMPROVEMENT: f"≥ {figure}% better than baseline",
            ResponderRule.POINTS_IMPROVEMENT: f"≥ {figure} points better than baseline",
            ResponderRule.GRADES_IMPROVEMENT: f"≥ {figure} grades better than baseline",
            ResponderRule.AT_MOST: f"≤ {figure}",
            ResponderRule.AT_LEAST: f"≥ {figure}",
        }[self.rule]


class ResponderStatus(StrEnum):
    RESPONDER = "responder"
    NON_RESPONDER = "non-responder"
    NOT_ASSESSABLE = "not-assessable"


@dataclass(frozen=True)
class ResponderVerdict:
    """One cycle judged against one definition: the status, the numbers, the threshold and the source.

    ``change`` is the percent, points or grades improved (for at-most / at-least: the follow-up value).
    ``unverified`` lists what the verdict rests on that is not verified; it is empty when all is.
    """

    definition: ResponderDefinition
    cycle: int
    status: ResponderStatus
    reason: str
    baseline: Measurement | None = None
    follow_up: Measurement | None = None
    change: Decimal | None = None
    unverified: tuple[str, ...] = ()

    @property
    def citation(self) -> Citation:
        return self.definition.citation

    @property
    def threshold(self) -> str:
        return self.definition.threshold_text

    @property
    def verified(self) -> bool:
        return not self.unverified


def _unverified(instrument: Instrument, citation: Citation, what: str) -> tuple[str, ...]:
    reasons = []
    if citation.grade is Grade.UNVERIFIED:
        reasons.append(f"the {what} is unverified ({citation})")
    if not instrument.verified:
        reasons.append(f"{instrument.name}'s scoring or range is unverified ({instrument.citation})")
    return tuple(reasons)


def _value(score: Score, role: str) -> Decimal:
    if score.value is None:
        raise ValueError(f"the {role} score of {score.instrument} has no numeric value")
    return score.value


def _rank(score: Score, role: str) -> int:
    if score.rank is None:
        raise ValueError(f"the {role} score of {score.instrument} is not a grade")
    return score.rank


def judge(
    definition: ResponderDefinition,
    instrument: Instrument,
    baseline: Measurement | None,
    follow_up: Measurement | None,
    cycle: int,
) -> ResponderVerdict:
    """Judge one follow-up against its baseline under ``definition``."""
    if instrument.id != definition.instrument:
        raise ValueError(f"definition {definition.id} is for {definition.instrument}, not {instrument.id}")
    unverified = _unverified(instrument, definition.citation, "responder definition")
    rule = definition.rule
    name = instrument.name

    def verdict(status: ResponderStatus, reason: str, change: Decimal | None = None) -> ResponderVerdict:
        if unverified:
            reason = f"{reason}; unverified: {'; '.join(unverified)}"
        return ResponderVerdict(definition, cycle, status, reason, baseline, follow_up, change, unverified)

    if follow_up is None:
        return verdict(ResponderStatus.NOT_ASSESSABLE, f"no {name} measurement in cycle {cycle}")
    if rule.needs_baseline and baseline is None:
        return verdict(ResponderStatus.NOT_ASSESSABLE, f"no {name} baseline on or before the first session")
    threshold = definition.threshold if definition.threshold is not None else Decimal(0)
    met: bool
    change: Decimal | None
    if rule is ResponderRule.REACHES_GRADE:
        met, change = follow_up.score.grade == definition.target_grade, None
        shown = f"{name} is '{follow_up.score.grade}'"
    elif rule is ResponderRule.GRADES_IMPROVEMENT:
        assert baseline is not None
        rank_before, rank_after = _rank(baseline.score, "baseline"), _rank(follow_up.score, "follow-up")
        steps = (
            rank_before - rank_after if instrument.direction is Direction.LOWER_IS_BETTER else rank_after - rank_before
        )
        met, change = Decimal(steps) >= threshold, Decimal(steps)
        shown = f"{name} {baseline.score.grade} → {follow_up.score.grade}: {_better(change, 'grade(s)')}"
    elif rule in (ResponderRule.AT_MOST, ResponderRule.AT_LEAST):
        value = _value(follow_up.score, "follow-up")
        met = value <= threshold if rule is ResponderRule.AT_MOST else value >= threshold
        change = value
        shown = f"{name} {follow_up.score}"
    else:
        assert baseline is not None
        before, after = _value(baseline.score, "baseline"), _value(follow_up.score, "follow-up")
        arrow = f"{name} {before} → {after}"
        if rule is ResponderRule.POINTS_IMPROVEMENT:
            change = improvement(instrument.direction, before, after)
            met = change >= threshold
            shown = f"{arrow}: {_better(change, 'points')}"
        else:
            change = percent_improvement(instrument.direction, before, after)
            if change is None:
                return verdict(
                    ResponderStatus.NOT_ASSESSABLE,
                    f"{name} baseline is {before}: a percent improvement from it is undefined",
                )
            met = meets_percent(instrument.direction, before, after, threshold)
            shown = f"{arrow}: {_better(change, '%')}"
    status = ResponderStatus.RESPONDER if met else ResponderStatus.NON_RESPONDER
    reason = f"{shown}; {status} at {definition.threshold_text} ({definition.citation})"
    return verdict(status, reason, change)


def change_from_baseline(instrument: Instrument, baseline: Score, follow_up: Score) -> str | None:
    """The change from baseline as a report prints it: the difference as measured, then how much better in
    the instrument's direction ("-12 (63.1% better)", "2 grade(s) better"); None when the two scores cannot
    be compared (no value or grade)."""
    if baseline.rank is not None and follow_up.rank is not None and baseline.value is None:
        steps = baseline.rank - follow_up.rank
        if instrument.direction is not Direction.LOWER_IS_BETTER:
            steps = -steps
        return _better(Decimal(steps), "grade(s)")
    if baseline.value is None or follow_up.value is None:
        return None
    difference = _plain(follow_up.value - baseline.value)
    shown = difference if difference.startswith("-") or difference == "0" else f"+{difference}"
    percent = percent_improvement(instrument.direction, baseline.value, follow_up.value)
    return shown if percent is None else f"{shown} ({_better(percent, '%')})"


def _plain(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


def _better(change: Decimal, unit: str) -> str:
    """How a change reads: 12.5% better, 1 grade(s) better, 3 points worse."""
    gap = "" if unit == "%" else " "
    word = "better" if change >= 0 else "worse"
    return f"{abs(change)}{gap}{unit} {word}"


def responder_status(
    definition: ResponderDefinition,
    instrument: Instrument,
    sessions: Iterable[date],
    measurements: Iterable[Measurement],
) -> tuple[ResponderVerdict, ...]:
    """A verdict for every cycle begun (one per distinct session day), on each cycle's last measurement."""
    days = session_days(sessions)
    chosen = _last_per_cycle(days, measurements, definition.instrument)
    baseline = chosen.get(0)
    return tuple(judge(definition, instrument, baseline, chosen.get(n), n) for n in range(1, len(days) + 1))


# -- continuation rules


class ContinuationKind(StrEnum):
    MINIMUM_IMPROVEMENT = "minimum-improvement"  # stop if, after `cycles` cycles, improvement < threshold %
    SUSTAINED_BELOW = "sustained-below"  # stop once the value has stayed below `threshold` for `months` months


class ContinuationAdvice(StrEnum):
    CONTINUE = "continue"
    STOP = "stop"
    NOT_YET = "not-yet"  # the rule looks at a later cycle than the patient has reached
    NOT_ASSESSABLE = "not-assessable"  # the measurements the rule needs are missing


@dataclass(frozen=True)
class ContinuationRule:
    """When to stop treatment for one indication, judged on one instrument; configurable per clinic."""

    id: str
    indication: str
    instrument: str
    kind: ContinuationKind
    threshold: Decimal  # percent (minimum-improvement) or level (sustained-below)
    description: str
    citation: Citation
    cycles: int | None = None  # minimum-improvement: the cycle after which response is judged
    months: int | None = None  # sustained-below: consecutive calendar months below the level

    def __post_init__(self) -> None:
        if self.kind is ContinuationKind.MINIMUM_IMPROVEMENT and (self.cycles is None or self.cycles < 1):
            raise ValueError("a minimum-improvement rule needs cycles ≥ 1")
        if self.kind is ContinuationKind.SUSTAINED_BELOW and (self.months is None or self.months < 1):
            raise ValueError("a sustained-below rule needs months ≥ 1")


@dataclass(frozen=True)
class ContinuationDecision:
    rule: ContinuationRule
    advice: ContinuationAdvice
    reason: str
    cycle: int | None = None
    change: Decimal | None = None
    unverified: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return not self.unverified


def combined_advice(decisions: Iterable[ContinuationDecision]) -> ContinuationAdvice | None:
    """The advice of several rules together: stop when any rule says stop, continue when all say continue,
    otherwise not yet or not assessable (not assessable first: something is missing). None without rules."""
    advice = {decision.advice for decision in decisions}
    if not advice:
        return None
    for first in (ContinuationAdvice.STOP, ContinuationAdvice.NOT_ASSESSABLE, ContinuationAdvice.NOT_YET):
        if first in advice:
            return first
    return ContinuationAdvice.CONTINUE


def evaluate_continuation(
    rule: ContinuationRule,
    instrument: Instrument,
    sessions: Iterable[date],
    measurements: Iterable[Measurement],
) -> ContinuationDecision:
    """Apply one continuation rule to one patient's sessions and measurements for the indication."""
    if instrument.id != rule.instrument:
        raise ValueError(f"rule {rule.id} is for {rule.instrument}, not {instrument.id}")
    days = session_days(sessions)
    wanted = [m for m in measurements if m.score.instrument == rule.instrument]
    unverified = _unverified(instrument, rule.citation, "continuation rule")

    def decide(
        advice: ContinuationAdvice, reason: str, cycle: int | None = None, change: Decimal | None = None
    ) -> ContinuationDecision:
        reason = f"{reason} ({rule.citation})"
        if unverified:  # the reasons name their sources: the citation is not repeated after them
            reason = f"{reason}; unverified: {'; '.join(unverified)}"
        return ContinuationDecision(rule, advice, reason, cycle, change, unverified)

    if rule.kind is ContinuationKind.MINIMUM_IMPROVEMENT:
        assert rule.cycles is not None
        if len(days) < rule.cycles:
            return decide(ContinuationAdvice.NOT_YET, f"{len(days)} of the {rule.cycles} cycles given so far")
        chosen = _last_per_cycle(days, wanted, rule.instrument)
        baseline, follow_up = chosen.get(0), chosen.get(rule.cycles)
        if baseline is None:
            return decide(ContinuationAdvice.NOT_ASSESSABLE, f"no {instrument.name} baseline before the first session")
        if follow_up is None:
            return decide(ContinuationAdvice.NOT_ASSESSABLE, f"no {instrument.name} measurement in cycle {rule.cycles}")
        before, after = _value(baseline.score, "baseline"), _value(follow_up.score, "follow-up")
        if before <= 0:
            return decide(ContinuationAdvice.NOT_ASSESSABLE, f"{instrument.name} baseline is {before}")
        change = percent_improvement(instrument.direction, before, after)
        met = meets_percent(instrument.direction, before, after, rule.threshold)
        assert change is not None
        numbers = f"{instrument.name} {before} → {after} after cycle {rule.cycles}: {_better(change, '%')}"
        if met:
            return decide(ContinuationAdvice.CONTINUE, f"{numbers}, at least {rule.threshold}%", rule.cycles, change)
        return decide(ContinuationAdvice.STOP, f"{numbers}, less than {rule.threshold}%", rule.cycles, change)

    assert rule.months is not None
    periods = sorted(
        (
            a
            for a in assign_cycles(days, wanted)
            if a.cycle is not None and a.cycle >= 1 and a.measurement.period_start is not None
        ),
        key=lambda a: a.measurement.on,
    )
    if not periods:
        return decide(
            ContinuationAdvice.NOT_ASSESSABLE, f"no {instrument.name} period measured after the first session"
        )
    latest_cycle = len(days)
    run = _episodic_run(periods, rule.threshold)
    if not run:
        return decide(
            ContinuationAdvice.CONTINUE,
            f"latest {instrument.name} {periods[-1].measurement.score.value} is not below {rule.threshold}",
            latest_cycle,
        )
    run_start, run_end = run[-1].measurement.period_start, run[0].measurement.on
    assert run_start is not None
    first_cycle, last_cycle = run[-1].cycle, run[0].cycle
    cycles = f"cycle {last_cycle}" if first_cycle == last_cycle else f"cycles {first_cycle} to {last_cycle}"
    highest = max(_value(a.measurement.score, "follow-up") for a in run)
    span = (
        f"{instrument.name} below {rule.threshold} in every period measured from {run_start} to {run_end} "
        f"({cycles}, highest {highest})"
    )
    if run_start <= Window(months=rule.months).start(run_end):
        return decide(ContinuationAdvice.STOP, f"{span}: {rule.months} consecutive months or more", latest_cycle)
    return decide(ContinuationAdvice.CONTINUE, f"{span}: fewer than {rule.months} consecutive months", latest_cycle)


def _episodic_run(periods: Sequence[CycleAssignment], level: Decimal) -> list[CycleAssignment]:
    """The periods below ``level`` that end with the latest one and follow each other without a break, latest
    first. A period follows the next one when it ends the day before that one begins or overlaps it (a diary
    kept every day)
    or when it is the last period of the cycle just before (a diary kept before each session: each cycle's
    end-of-cycle diary stands for that cycle, as the responder verdicts read it). A period at or above the
    level, a gap inside a cycle, or a cycle with no period ends the run."""
    run: list[CycleAssignment] = []
    for assignment in reversed(periods):
        if _value(assignment.measurement.score, "follow-up") >= level:
            break
        if run:
            following = run[-1]
            assert following.cycle is not None  # only periods of a cycle are passed in
            assert assignment.cycle is not None
            # Periods that touch or overlap (a diary summarised again over the 28 days before a new session)
            # cover the time between them.
            following_start = following.measurement.period_start
            assert following_start is not None  # only period measurements are passed in
            back_to_back = following_start <= _next_day(assignment.measurement.on)
            # Walking back in time, the first period met in an earlier cycle is that cycle's last one.
            previous_cycle = assignment.cycle == following.cycle - 1
            if not (back_to_back or previous_cycle):
                break
        run.append(assignment)
    return run


def _next_day(day: date) -> date:
    return date.fromordinal(day.toordinal() + 1)
