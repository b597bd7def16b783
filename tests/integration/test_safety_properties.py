"""Properties of the safety check over generated patients, histories and plans."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bont.bootstrap import build_knowledge
from bont.domain.safety import Administration, CheckRequest, Patient, SessionPlan, Verdict, check

KNOWLEDGE = build_knowledge()
SESSION = date(2026, 11, 21)
PRODUCTS = sorted(KNOWLEDGE.products)
INDICATIONS = sorted(KNOWLEDGE.indications)

units = st.decimals(min_value=1, max_value=1500, places=0)
administrations = st.builds(
    Administration,
    on=st.integers(min_value=0, max_value=730).map(lambda days: SESSION - timedelta(days=days)),
    product=st.sampled_from(PRODUCTS),
    indication=st.sampled_from(INDICATIONS),
    units=units,
)
patients = st.builds(
    Patient,
    birth_date=st.integers(min_value=2, max_value=90).map(lambda years: date(2026 - years, 6, 1)),
    weight_kg=st.decimals(min_value=10, max_value=120, places=0),
    conditions=st.lists(st.sampled_from(["G70.00", "R13.10", "N39.0", "J44.9", "I10", "bad knee"]), max_size=2).map(
        tuple
    ),
    medications=st.lists(st.sampled_from(["gentamicin", "baclofen", "warfarin", "metformin"]), max_size=2).map(tuple),
)
plans = st.builds(
    SessionPlan, product=st.sampled_from(PRODUCTS), indication=st.sampled_from(INDICATIONS), total_units=units
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(patients, plans, st.lists(administrations, max_size=8), st.lists(administrations, min_size=1, max_size=4))
def test_adding_history_never_turns_a_block_into_ok(
    patient: Patient, plan: SessionPlan, history: list[Administration], more: list[Administration]
) -> None:
    before = check(KNOWLEDGE, CheckRequest(SESSION, patient, plan, tuple(history)))
    after = check(KNOWLEDGE, CheckRequest(SESSION, patient, plan, tuple(history + more)))
    if before.verdict is Verdict.BLOCK:
        assert after.verdict is Verdict.BLOCK


@SETTINGS
@given(patients, plans, st.lists(administrations, max_size=8), st.decimals(min_value=0, max_value=1, places=2))
def test_removing_units_never_turns_ok_into_block(
    patient: Patient, plan: SessionPlan, history: list[Administration], fraction: Decimal
) -> None:
    full = check(KNOWLEDGE, CheckRequest(SESSION, patient, plan, tuple(history)))
    assert plan.total_units is not None
    smaller = max(Decimal(1), (plan.total_units * fraction).to_integral_value())
    reduced = SessionPlan(plan.product, plan.indication, smaller)
    less = check(KNOWLEDGE, CheckRequest(SESSION, patient, reduced, tuple(history)))
    if full.verdict is Verdict.OK:
        assert less.verdict is not Verdict.BLOCK


@SETTINGS
@given(patients, plans, st.lists(administrations, max_size=8))
def test_every_block_rests_on_a_label_figure(
    patient: Patient, plan: SessionPlan, history: list[Administration]
) -> None:
    report = check(KNOWLEDGE, CheckRequest(SESSION, patient, plan, tuple(history)))
    for finding in report.findings:
        if finding.severity == "block":
            assert finding.source is not None
            assert finding.source.may_block
