"""A dose given elsewhere whose record names no indication bont could map is never left out of the check: it
counts in every indication's figures (interval, cumulative window, same-day total, first session) as if given
for this one, and each finding that counts it says so. One with a known other indication counts only there. The
chart's next session dates it the same way, since the check answers for it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bont.domain.findings import Finding, Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import PlanRequest, SideChoice
from bont.domain.safety import Administration, CheckRequest, Patient, SessionPlan, check
from bont.services.next_session import next_sessions
from bont.services.planning import plan_session

TODAY = date(2026, 11, 9)
SOURCE = "https://ehr.another-hospital.example"
PATIENT = Patient(birth_date=date(1980, 4, 2))
BOTOX = "onabotulinumtoxinA"


def _elsewhere(on: date, units: int, indication: str | None = None) -> Administration:
    return Administration(on, BOTOX, indication, Decimal(units), source=SOURCE)


def _findings(knowledge: KnowledgeBase, indication: str, units: int, *history: Administration) -> dict[str, Finding]:
    request = CheckRequest(TODAY, PATIENT, SessionPlan(BOTOX, indication, total_units=Decimal(units)), history=history)
    return {finding.code: finding for finding in check(knowledge, request).findings}


def test_a_bladder_plan_blocks_within_twelve_weeks_of_a_dose_given_elsewhere_without_an_indication(
    knowledge: KnowledgeBase,
) -> None:
    interval = _findings(knowledge, "overactive-bladder", 100, _elsewhere(date(2026, 10, 19), 150))[
        "retreatment-interval-too-short"
    ]
    assert interval.severity is Severity.BLOCK
    assert interval.message == (
        f"the last BOTOX session was 21 days ago (given elsewhere ({SOURCE}), 2026-10-19: 150 U BOTOX, indication "
        "not given: counted as if for overactive bladder); the label's interval is 84 days, which ends on 2027-01-11"
    )


def test_a_blepharospasm_plan_blocks_on_thirty_days_counting_a_dose_given_elsewhere_without_an_indication(
    knowledge: KnowledgeBase,
) -> None:
    findings = _findings(knowledge, "blepharospasm", 100, _elsewhere(date(2026, 10, 19), 150))
    cumulative = findings["cumulative-dose-exceeds-maximum"]
    assert cumulative.severity is Severity.BLOCK
    assert cumulative.message == (
        "150 U for blepharospasm in the last 30 days plus 100 U planned = 250 U, above 200 U in any 30 days; given "
        f"elsewhere ({SOURCE}), 2026-10-19: 150 U BOTOX, indication not given: counted as if for blepharospasm"
    )
    # Counted as if it had been for blepharospasm, yet the patient stays new to it: the initial-dose caution stays
    # until a session for blepharospasm is known (the cautious reading both ways).
    assert findings["initial-dose-exceeded"].severity is Severity.WARN


def test_a_same_day_dose_given_elsewhere_without_an_indication_counts_in_the_session(
    knowledge: KnowledgeBase,
) -> None:
    session = _findings(knowledge, "overactive-bladder", 100, _elsewhere(TODAY, 60))["session-dose-exceeds-maximum"]
    assert session.message.startswith(
        "160 U of BOTOX in this session with 60 U already given today is above the protocol's usual dose of 100 U; "
        f"given elsewhere ({SOURCE}), 2026-11-09: 60 U BOTOX, indication not given: counted as if for overactive "
        "bladder"
    )


def test_a_dose_given_elsewhere_for_another_indication_does_not_count_in_this_indications_interval(
    knowledge: KnowledgeBase,
) -> None:
    findings = _findings(knowledge, "overactive-bladder", 100, _elsewhere(date(2026, 10, 19), 150, "cervical-dystonia"))
    assert "retreatment-interval-too-short" not in findings
    assert "cumulative-dose-exceeds-maximum" not in findings  # 250 U of BOTOX's 400 U in 3 months


def test_the_charts_next_bladder_session_waits_twelve_weeks_from_a_dose_given_elsewhere_without_an_indication(
    knowledge: KnowledgeBase,
) -> None:
    own = Administration(date(2026, 6, 1), BOTOX, "overactive-bladder", Decimal(100))
    (bladder,) = next_sessions(knowledge, PATIENT, (own, _elsewhere(date(2026, 10, 19), 150)), TODAY)
    assert (bladder.indication, bladder.last, bladder.earliest, bladder.limited_by) == (
        "overactive-bladder",
        date(2026, 6, 1),
        date(2027, 1, 11),
        ("retreatment-interval-too-short",),
    )


def test_the_planner_still_offers_the_initial_dose_after_a_dose_given_elsewhere_whose_indication_is_not_given(
    knowledge: KnowledgeBase,
) -> None:
    request = PlanRequest("cervical-dystonia", "XEOMIN", TODAY, side=SideChoice.BOTH, diluent_ml=Decimal(2))
    assert plan_session(knowledge, request, PATIENT).plan.total_units.amount == 120  # the label's initial dose
    outside = Administration(date(2026, 6, 1), "incobotulinumtoxinA", None, Decimal(120), source=SOURCE)
    # The patient is new to cervical dystonia as far as anyone knows: the label's initial dose, as the check reads it.
    assert plan_session(knowledge, request, PATIENT, (outside,)).plan.total_units.amount == 120
