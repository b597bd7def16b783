"""Use case: when may a patient's next session be given?

Answered by the safety check itself, never by a separate reading of the interval: for each indication and
product the patient is treated with, the last session is repeated on each day from today on.
``earliest`` is the first day on which that repeat has no blocking finding. ``recommended`` is the first
day on which it has no blocking finding and no interval or cumulative finding at all: a warning-only figure
(such as an unverified pediatric cumulative maximum) moves ``recommended`` but not ``earliest``.
``limited_by`` names the codes of the findings that cleared last, so set those days. The patient's earlier
adverse events are checked too; they only ever warn, and are not about timing, so they move neither day. The
chart, the follow-up list, the API and ``bont patient next`` all show this.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from bont.domain.errors import PlanningError
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import Administration, CheckRequest, Patient, PriorAdverseEvent, SessionPlan, check

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
    indication = knowledge.indications.get(item.indication)
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
    known = [i for i in history if i.product in knowledge.products and i.indication in knowledge.indications]
    pairs = sorted({(i.indication, i.product) for i in known})
    events = tuple(event for event in adverse_events if event.on <= today)
    found = (_next(knowledge, patient, history, events, today, indication, product) for indication, product in pairs)
    return [n for n in found if n is not None]  # None only when asked for the sessions allowed today


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
    known = [i for i in history if i.product in knowledge.products and i.indication in knowledge.indications]
    pairs = sorted({(i.indication, i.product) for i in known})
    events = tuple(event for event in adverse_events if event.on <= today)
    found = (
        _next(knowledge, patient, history, events, today, indication, product, only_if_allowed_today=True)
        for indication, product in pairs
    )
    return [n for n in found if n is not None]


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
    earliest: date | None = None
    recommended: date | None = None
    limited: dict[str, None] = {}
    previous_codes: tuple[set[str], set[str]] = (set(), set())
    for offset in range(HORIZON_DAYS + 1):
        day = start + timedelta(days=offset)
        request = CheckRequest(on=day, patient=patient, plan=repeat, history=past, adverse_events=adverse_events)
        try:
            report = check(knowledge, request)
        except PlanningError as error:
            if error.field != "plan.variant" or repeat.variant is None:
                raise
            # The variant the last session followed is none of the patient's protocols on this day (a child's
            # one-leg protocol, and the child is now an adult): the repeat follows the protocol for them now.
            repeat = replace(repeat, variant=None)
            report = check(knowledge, replace(request, plan=repeat))
        blocking = {f.code for f in report.findings if f.severity is Severity.BLOCK}
        if only_if_allowed_today and earliest is None and blocking:
            return None  # today (the first day) is blocked: the earliest day is later
        timing = {f.code for f in report.findings if f.code in TIMING_CODES}
        if earliest is None and not blocking:
            earliest = day
            limited.update(dict.fromkeys(sorted(previous_codes[0])))
        if recommended is None and not timing and not blocking:
            recommended = day
            limited.update(dict.fromkeys(sorted(previous_codes[1])))
        if earliest is not None and recommended is not None:
            break
        previous_codes = (blocking, timing)
    else:
        limited.update(dict.fromkeys(sorted(previous_codes[0] | previous_codes[1])))
    return NextSession(indication, product, last, units, earliest, recommended, tuple(limited))
