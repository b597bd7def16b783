"""Use case: when may a patient's next session be given?

Answered by the safety check itself, never by a separate reading of the interval: for each indication and
product the patient is treated with, the last session is repeated on each day from today on.
``earliest`` is the first day on which that repeat has no blocking finding. ``recommended`` is the first
day on which it has no blocking finding and no interval or cumulative finding at all: a warning-only figure
(such as an unverified pediatric cumulative maximum) moves ``recommended`` but not ``earliest``.
``limited_by`` names the codes of the findings that cleared last, so set those days. The patient's earlier
adverse events are checked too; they only ever warn, and are not about timing, so they move neither day. The
chart, the follow-up list, the API and ``bont patient next`` all show this.

The check is asked only on the days its findings can change (an interval's end, a session leaving a window or
the look-back, a birthday), and on the day before each answer to confirm that nothing changed in between;
should anything have, every day is asked in turn.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from bont.domain.errors import PlanningError
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import Administration, CheckRequest, Patient, PriorAdverseEvent, SessionPlan, check
from bont.domain.windows import Window

# The findings about timing: the retreatment interval and the units already given in a window.
TIMING_CODES = frozenset({"retreatment-interval-too-short", "cumulative-dose-exceeds-maximum"})
# How far ahead to look. No label interval or window is longer than a year; a repeat that still blocks a
# year and a half from now is blocked by something time does not cure (e.g. the dose itself).
HORIZON_DAYS = 548


@dataclass(frozen=True)
class NextSession:
    indication: str
    product: str
    last: date
    last_units: Decimal
    earliest: date | None  # None: repeating the last session blocks on every day within the horizon
    recommended: date | None
    limited_by: tuple[str, ...]  # codes of the findings that set earliest and recommended


def _variant(knowledge: KnowledgeBase, item: Administration) -> str | None:
    indication = knowledge.indications.get(item.indication) if item.indication is not None else None
    if indication is None or item.protocol is None:
        return None
    return next((p.variant for p in indication.protocols if p.id == item.protocol), None)


def next_sessions(
    knowledge: KnowledgeBase,
    patient: Patient,
    history: tuple[Administration, ...],
    today: date,
    adverse_events: tuple[PriorAdverseEvent, ...] = (),
) -> list[NextSession]:
    """For every (indication, product) in the history, the next allowed and the recommended day."""
    return _next_of_each(knowledge, patient, history, today, adverse_events, only_if_allowed_today=False)


def sessions_allowed_today(
    knowledge: KnowledgeBase,
    patient: Patient,
    history: tuple[Administration, ...],
    today: date,
    adverse_events: tuple[PriorAdverseEvent, ...] = (),
) -> list[NextSession]:
    """The next sessions of :func:`next_sessions` whose earliest day is today, found without looking ahead for
    the (indication, product) pairs that today's check blocks: the follow-up list asks this of every treated
    patient."""
    return _next_of_each(knowledge, patient, history, today, adverse_events, only_if_allowed_today=True)


def _next_of_each(
    knowledge: KnowledgeBase,
    patient: Patient,
    history: tuple[Administration, ...],
    today: date,
    adverse_events: tuple[PriorAdverseEvent, ...],
    only_if_allowed_today: bool,
) -> list[NextSession]:
    # A dose given elsewhere without an indication is no session to repeat, so it makes no pair of its own; the
    # check that dates each pair's repeat counts it as if given for that pair's indication.
    known = [i for i in history if i.product in knowledge.products and i.indication in knowledge.indications]
    pairs = sorted({(i.indication, i.product) for i in known if i.indication is not None})
    events = tuple(event for event in adverse_events if event.on <= today)
    found = (
        _next(knowledge, patient, history, events, today, indication, product, only_if_allowed_today)
        for indication, product in pairs
    )
    return [n for n in found if n is not None]  # None only when asked for the sessions allowed today


def _next(
    knowledge: KnowledgeBase,
    patient: Patient,
    history: tuple[Administration, ...],
    adverse_events: tuple[PriorAdverseEvent, ...],
    today: date,
    indication: str,
    product: str,
    only_if_allowed_today: bool = False,
) -> NextSession | None:
    items = [i for i in history if i.indication == indication and i.product == product]
    last = max(i.on for i in items)
    same_day = [i for i in items if i.on == last]
    units = sum((i.units for i in same_day), Decimal(0))
    repeat = SessionPlan(product, indication, total_units=units, variant=_variant(knowledge, same_day[-1]))
    # A session given "today" or earlier is in the history; the check refuses history after its date.
    past = tuple(i for i in history if i.on <= max(today, last))
    start = max(today, last)
    if only_if_allowed_today and start != today:
        return None
    probe = _Probe(knowledge, patient, repeat, past, adverse_events)
    if only_if_allowed_today and probe(start)[0]:
        return None  # today (the first day) is blocked: the earliest day is later
    if probe(start) == (frozenset(), frozenset()):
        return NextSession(indication, product, last, units, start, start, ())  # most often: nothing to wait for
    end = start + timedelta(days=HORIZON_DAYS)
    found = _search(probe, _candidate_days(knowledge, patient, past, start, end), verify=True)
    if found is None:  # a finding changed on a day no candidate foresaw: ask the check about every day
        every_day = [start + timedelta(days=offset) for offset in range(HORIZON_DAYS + 1)]
        found = _search(_Probe(knowledge, patient, repeat, past, adverse_events), every_day, verify=False)
        assert found is not None
    earliest, recommended, limited_by = found
    return NextSession(indication, product, last, units, earliest, recommended, limited_by)


_Codes = tuple[frozenset[str], frozenset[str]]  # the blocking codes and the timing codes of one day's check


class _Probe:
    """The check of repeating the session on a given day, asked once per day."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        patient: Patient,
        repeat: SessionPlan,
        history: tuple[Administration, ...],
        adverse_events: tuple[PriorAdverseEvent, ...],
    ) -> None:
        self.knowledge, self.patient, self.repeat = knowledge, patient, repeat
        self.history, self.adverse_events = history, adverse_events
        self.without_variant_from: date | None = None
        self.answers: dict[date, _Codes] = {}

    def __call__(self, day: date) -> _Codes:
        if day not in self.answers:
            self.answers[day] = self._check(day)
        return self.answers[day]

    def _check(self, day: date) -> _Codes:
        plan = self.repeat
        if self.without_variant_from is not None and day >= self.without_variant_from:
            plan = replace(plan, variant=None)
        request = CheckRequest(
            on=day, patient=self.patient, plan=plan, history=self.history, adverse_events=self.adverse_events
        )
        try:
            report = check(self.knowledge, request)
        except PlanningError as error:
            if error.field != "plan.variant" or plan.variant is None:
                raise
            # The variant the last session followed is none of the patient's protocols on this day (a child's
            # one-leg protocol, and the child is now an adult): from this day on the repeat follows the
            # protocol for them now.
            self.without_variant_from = day
            report = check(self.knowledge, replace(request, plan=replace(plan, variant=None)))
        blocking = frozenset(f.code for f in report.findings if f.severity is Severity.BLOCK)
        return blocking, frozenset(f.code for f in report.findings if f.code in TIMING_CODES)


def _search(probe: _Probe, days: list[date], verify: bool) -> tuple[date | None, date | None, tuple[str, ...]] | None:
    """The earliest and recommended days among ``days`` (in order, the first being today or the last session's
    day, the last the horizon) and the codes that cleared on them. With ``verify``, the days are only those on
    which a finding can change: the check of the day before each answer must then say what the check of the
    day before it in ``days`` said, or the answer is None (some change was not foreseen)."""
    earliest: date | None = None
    recommended: date | None = None
    limited: dict[str, None] = {}
    previous: _Codes = (frozenset(), frozenset())
    for index, day in enumerate(days):
        blocking, timing = probe(day)
        clears = (earliest is None and not blocking) or (recommended is None and not (timing or blocking))
        if verify and index and clears and probe(day - timedelta(days=1)) != previous:
            return None
        if earliest is None and not blocking:
            earliest = day
            limited.update(dict.fromkeys(sorted(previous[0])))
        if recommended is None and not timing and not blocking:
            recommended = day
            limited.update(dict.fromkeys(sorted(previous[1])))
        if earliest is not None and recommended is not None:
            break
        previous = (blocking, timing)
    else:
        limited.update(dict.fromkeys(sorted(previous[0] | previous[1])))
    return earliest, recommended, tuple(limited)


def _candidate_days(
    knowledge: KnowledgeBase, patient: Patient, history: tuple[Administration, ...], start: date, end: date
) -> list[date]:
    """The days from ``start`` to ``end`` on which the check of a repeat can change its findings: the day after
    ``start`` (a session given on it becomes an earlier one), each day an interval from an earlier session ends,
    each day a session leaves a window of the knowledge base or the check's look-back, each birthday (the
    population and protocols follow the age), and the horizon itself."""
    shifts = {knowledge.lookback_days + 1}
    shifts |= {p.min_interval_days.value for p in knowledge.protocols() if p.min_interval_days is not None}
    windows: set[Window | None] = {Window(days=caution.days) for caution in knowledge.cautions.values()}
    windows |= {limit.value.window for product in knowledge.products.values() for limit in product.limits}
    windows |= {p.cumulative_limit.value.window for p in knowledge.protocols() if p.cumulative_limit is not None}
    days = {start, start + timedelta(days=1), end}
    # A session older than the look-back moves nothing from ``start`` on: every interval and window is shorter.
    for item in (i for i in history if i.on >= start - timedelta(days=knowledge.lookback_days + 1)):
        days |= {item.on + timedelta(days=shift) for shift in shifts}
        days |= {_leaves(window, item.on) for window in windows if window is not None}
    if patient.birth_date is not None:
        days |= {_birthday(patient.birth_date, year) for year in range(start.year, end.year + 1)}
    return sorted(day for day in days if start <= day <= end)


def _leaves(window: Window, day: date) -> date:
    """The first day whose window no longer holds ``day`` (a window's start never moves back)."""
    low, high = day, day + timedelta(days=31 * (window.months or 0) + (window.days or 0) + 1)
    while low < high:
        middle = low + timedelta(days=(high - low).days // 2)
        if window.start(middle) > day:
            high = middle
        else:
            low = middle + timedelta(days=1)
    return low


def _birthday(birth_date: date, year: int) -> date:
    """The day in ``year`` the age goes up: 1 March for one born on 29 February, outside leap years."""
    if birth_date.month == 2 and birth_date.day == 29 and not calendar.isleap(year):
        return date(year, 3, 1)
    return birth_date.replace(year=year)
