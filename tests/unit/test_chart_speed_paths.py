"""The chart's fast paths give the very answers of the slow ones: the next-session search that asks the check
only on the days a finding can change agrees with asking it on every day up to the horizon."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bont.bootstrap import build_knowledge
from bont.domain.errors import PlanningError
from bont.domain.findings import Severity
from bont.domain.safety import Administration, CheckRequest, Patient, SessionPlan, check
from bont.services.next_session import (
    HORIZON_DAYS,
    TIMING_CODES,
    NextSession,
    next_sessions,
    sessions_allowed_today,
)

KNOWLEDGE = build_knowledge()
TODAY = date(2026, 11, 29)
ONE_LEG = "lower-limb-spasticity/abobotulinumtoxinA/pediatric/unilateral"
TREATMENTS = (  # (product, indication, protocol): intervals, day and month windows, a pediatric variant
    ("onabotulinumtoxinA", "upper-limb-spasticity", None),
    ("onabotulinumtoxinA", "lower-limb-spasticity", None),
    ("onabotulinumtoxinA", "overactive-bladder", None),
    ("onabotulinumtoxinA", "neurogenic-detrusor-overactivity", None),
    ("onabotulinumtoxinA", "chronic-migraine", None),
    ("abobotulinumtoxinA", "cervical-dystonia", None),
    ("abobotulinumtoxinA", "lower-limb-spasticity", ONE_LEG),
    ("incobotulinumtoxinA", "sialorrhea", None),
    ("incobotulinumtoxinA", "upper-limb-spasticity", None),
    ("rimabotulinumtoxinB", "sialorrhea", None),
)
patients = st.builds(
    Patient,
    # Adults, children, those who turn 2 or 18 within the horizon, and one born on 29 February.
    birth_date=st.sampled_from(
        [date(1970, 1, 1), date(2018, 1, 1), date(2008, 12, 20), date(2008, 2, 29), date(2024, 12, 31)]
    ),
    sex=st.sampled_from(["female", "male"]),
    weight_kg=st.sampled_from([Decimal(20), Decimal(70)]),
)
histories = st.lists(
    st.builds(
        lambda treatment, days_ago, units: Administration(
            TODAY - timedelta(days=days_ago), treatment[0], treatment[1], Decimal(units), protocol=treatment[2]
        ),
        st.sampled_from(TREATMENTS),
        st.one_of(st.integers(min_value=-20, max_value=130), st.integers(min_value=0, max_value=3000)),
        st.integers(min_value=20, max_value=400),
    ),
    min_size=1,
    max_size=5,
)


def every_day(patient: Patient, history: tuple[Administration, ...], item: NextSession) -> NextSession:
    """The next session found by asking the check about each day in turn, from the first to the horizon."""
    same_day = [i for i in history if (i.indication, i.product, i.on) == (item.indication, item.product, item.last)]
    variant = next(
        (p.variant for p in KNOWLEDGE.indications[item.indication].protocols if p.id == same_day[-1].protocol), None
    )
    repeat = SessionPlan(item.product, item.indication, total_units=item.last_units, variant=variant)
    start = max(TODAY, item.last)
    past = tuple(i for i in history if i.on <= start)
    earliest: date | None = None
    recommended: date | None = None
    limited: dict[str, None] = {}
    previous: tuple[set[str], set[str]] = (set(), set())
    for offset in range(HORIZON_DAYS + 1):
        day = start + timedelta(days=offset)
        request = CheckRequest(on=day, patient=patient, plan=repeat, history=past)
        try:
            report = check(KNOWLEDGE, request)
        except PlanningError:
            repeat = replace(repeat, variant=None)
            report = check(KNOWLEDGE, replace(request, plan=repeat))
        blocking = {f.code for f in report.findings if f.severity is Severity.BLOCK}
        timing = {f.code for f in report.findings if f.code in TIMING_CODES}
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
    return replace(item, earliest=earliest, recommended=recommended, limited_by=tuple(limited))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients, histories)
def test_next_sessions_are_those_of_asking_the_check_every_day(patient: Patient, history: list[Administration]) -> None:
    stored = tuple(sorted(history, key=lambda item: item.on))
    found = next_sessions(KNOWLEDGE, patient, stored, TODAY)
    assert found == [every_day(patient, stored, item) for item in found]
    allowed_today = [item for item in found if item.earliest == TODAY and item.last <= TODAY]
    assert sessions_allowed_today(KNOWLEDGE, patient, stored, TODAY) == allowed_today


def test_a_child_turning_18_within_the_horizon_gets_the_answer_of_every_day() -> None:
    child = Patient(birth_date=date(2008, 12, 20), sex="male", weight_kg=Decimal(60))
    one_leg = Administration(date(2026, 11, 20), "abobotulinumtoxinA", "lower-limb-spasticity", Decimal(600), ONE_LEG)
    (found,) = next_sessions(KNOWLEDGE, child, (one_leg,), TODAY)
    assert found == every_day(child, (one_leg,), found)


def test_a_3_month_window_ending_at_a_month_end_gets_the_answer_of_every_day() -> None:
    history = (
        Administration(date(2026, 8, 31), "onabotulinumtoxinA", "upper-limb-spasticity", Decimal(200)),
        Administration(date(2026, 11, 28), "onabotulinumtoxinA", "upper-limb-spasticity", Decimal(200)),
    )
    patient = Patient(birth_date=date(1970, 1, 1), sex="female", weight_kg=Decimal(70))
    (found,) = next_sessions(KNOWLEDGE, patient, history, TODAY)
    assert found == every_day(patient, history, found)
    assert found.earliest is not None
    assert found.earliest > TODAY
