"""The outcome, diary, follow-up and research use cases, run on in-memory fakes of their ports."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.outcomes import Score
from bont.domain.safety import Administration, Patient
from bont.services.follow_up import ASSESSMENT, NEXT_SESSION, follow_up_document, follow_up_page
from bont.services.outcome_ports import ContinuationSetting, GivenSession, StoredAdverseEvent, StoredOutcome
from bont.services.outcomes import (
    chart_outcomes,
    clinic_rules,
    configure_continuation_rule,
    continuation_report,
    create_diary_link,
    diary_page,
    outcome_entries,
    patient_outcomes,
    record_outcome,
    save_diary_entry,
)
from bont.services.ports import UnknownPatientError
from bont.services.research import registry, verdict_basis
from bont.services.tokens import hash_token
from tests.fakes import FakeClinic, FakeFollowUpRecords, FakeOutcomeClinic, FakeOutcomeRecords, FakePatientCharts

TODAY = date(2026, 11, 29)
BORN = date(1980, 4, 2)
FIRST, SECOND = date(2026, 1, 5), date(2026, 5, 4)
HYPERHIDROSIS = "axillary-hyperhidrosis"
MIGRAINE = "chronic-migraine"
BOTOX = "onabotulinumtoxinA"


@pytest.fixture
def clinic() -> FakeOutcomeClinic:
    return FakeOutcomeClinic()


@pytest.fixture
def records(clinic: FakeOutcomeClinic, knowledge: KnowledgeBase) -> FakeOutcomeRecords:
    return FakeOutcomeRecords(clinic, knowledge)


def treated_for_hyperhidrosis(clinic: FakeOutcomeClinic, mrn: str = "FICT-1") -> int:
    patient_id = clinic.add_patient(mrn, BORN)
    for day in (FIRST, SECOND):
        clinic.add_session(patient_id, GivenSession(day, HYPERHIDROSIS, BOTOX, Decimal(100), "ok"))
    return patient_id


def hdss(records: FakeOutcomeRecords, knowledge: KnowledgeBase, on: date, grade: str, mrn: str = "FICT-1") -> int:
    return record_outcome(records, knowledge, mrn, HYPERHIDROSIS, "hdss", on, grade, "dr-fictional", TODAY)


def test_a_two_grade_hdss_improvement_after_the_first_session_is_a_responder(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords, knowledge: KnowledgeBase
) -> None:
    treated_for_hyperhidrosis(clinic)
    hdss(records, knowledge, FIRST, "4")
    hdss(records, knowledge, FIRST + timedelta(days=42), "2")
    [outcomes] = patient_outcomes(records, knowledge, "FICT-1", TODAY)
    [series] = outcomes.series
    assert outcomes.indication.id == HYPERHIDROSIS
    assert outcomes.sessions == (FIRST, SECOND)
    assert [cycle for _, cycle in series.points] == [0, 1]
    assert series.latest_verdict is not None
    assert str(series.latest_verdict.status) == "responder"


def test_a_withdrawn_measurement_is_not_an_outcome(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords, knowledge: KnowledgeBase
) -> None:
    patient_id = treated_for_hyperhidrosis(clinic)
    hdss(records, knowledge, FIRST, "4")
    clinic.outcomes[patient_id].append(
        StoredOutcome(HYPERHIDROSIS, "hdss", FIRST + timedelta(days=40), None, Score("hdss", grade="1", rank=0), True)
    )
    [outcomes] = patient_outcomes(records, knowledge, "FICT-1", TODAY)
    assert [m.on for m, _ in outcomes.series[0].points] == [FIRST]
    # The chart reads the same, the withdrawn one listed among the entries, from one read of the measurements.
    entries, chart = chart_outcomes(records, knowledge, "FICT-1", TODAY)
    assert (entries, chart) == (outcome_entries(records, knowledge, "FICT-1"), [outcomes])
    assert len(entries) == 2


def test_an_outcome_measured_in_the_future_is_refused_and_nothing_is_stored(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords, knowledge: KnowledgeBase
) -> None:
    treated_for_hyperhidrosis(clinic)
    with pytest.raises(FieldError) as refused:
        hdss(records, knowledge, TODAY + timedelta(days=1), "3")
    assert (refused.value.field, refused.value.problem) == ("measured_on", "is in the future")
    assert clinic.outcomes == {}


def test_a_grade_the_scale_does_not_have_is_refused_naming_the_value(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords, knowledge: KnowledgeBase
) -> None:
    treated_for_hyperhidrosis(clinic)
    with pytest.raises(FieldError) as refused:
        hdss(records, knowledge, FIRST, "5")
    assert refused.value.field == "value"


def test_an_instrument_of_another_indication_is_refused(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords, knowledge: KnowledgeBase
) -> None:
    treated_for_hyperhidrosis(clinic)
    with pytest.raises(FieldError) as refused:
        record_outcome(records, knowledge, "FICT-1", HYPERHIDROSIS, "phq-9", FIRST, "5", None, TODAY)
    assert refused.value.field == "instrument"


def test_an_unknown_mrn_is_refused_without_repeating_it(records: FakeOutcomeRecords, knowledge: KnowledgeBase) -> None:
    with pytest.raises(UnknownPatientError) as refused:
        patient_outcomes(records, knowledge, "FICT-NOBODY", TODAY)
    assert refused.value.field == "mrn"
    assert "FICT-NOBODY" not in str(refused.value)


def test_a_clinic_setting_changes_a_continuation_rule_and_says_why(
    records: FakeOutcomeRecords, knowledge: KnowledgeBase
) -> None:
    configure_continuation_rule(records, knowledge, "nice-ta260-two-cycles", "payer policy", Decimal(50))
    rules = {r.id: r for r in clinic_rules(knowledge, records.continuation_settings(), MIGRAINE)}
    assert rules["nice-ta260-two-cycles"].threshold == Decimal(50)
    assert rules["nice-ta260-two-cycles"].description.endswith("clinic setting: payer policy")
    configure_continuation_rule(records, knowledge, "nice-ta260-episodic", "not used here", enabled=False)
    assert "nice-ta260-episodic" not in {
        r.id for r in clinic_rules(knowledge, records.continuation_settings(), MIGRAINE)
    }


@pytest.mark.parametrize(
    ("rule", "reason", "threshold", "field"),
    [
        ("no-such-rule", "payer", None, "rule"),
        ("nice-ta260-two-cycles", "  ", None, "reason"),
        ("nice-ta260-two-cycles", "payer", Decimal(101), "threshold"),
    ],
)
def test_a_continuation_setting_is_refused_naming_the_field(
    records: FakeOutcomeRecords, knowledge: KnowledgeBase, rule: str, reason: str, threshold: Decimal | None, field: str
) -> None:
    with pytest.raises(FieldError) as refused:
        configure_continuation_rule(records, knowledge, rule, reason, threshold)
    assert refused.value.field == field
    assert records.continuation_settings() == {}


def test_a_diary_link_stores_only_the_hash_of_its_token_and_its_page_shows_no_identifier(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords
) -> None:
    clinic.add_patient("FICT-2", BORN)
    token = create_diary_link(records, "FICT-2", "bladder", TODAY)
    assert list(clinic.links) == [hash_token(token)]
    assert save_diary_entry(records, token, TODAY, {"voids": "9", "incontinence_episodes": "1"}, TODAY)
    page = diary_page(records, token, TODAY)
    assert page is not None
    assert (page.kind, page.recent) == ("bladder", (TODAY,))
    assert "FICT-2" not in repr(page)


def test_a_diary_link_closes_when_it_expires(clinic: FakeOutcomeClinic, records: FakeOutcomeRecords) -> None:
    clinic.add_patient("FICT-2", BORN)
    token = create_diary_link(records, "FICT-2", "headache", TODAY)
    later = TODAY + timedelta(days=121)
    assert diary_page(records, token, later) is None
    assert not save_diary_entry(records, token, later, {"headache_minutes": "0"}, later)
    assert diary_page(records, "not-a-token", TODAY) is None


def test_a_diary_link_for_an_unknown_kind_is_refused(clinic: FakeOutcomeClinic, records: FakeOutcomeRecords) -> None:
    clinic.add_patient("FICT-2", BORN)
    with pytest.raises(FieldError) as refused:
        create_diary_link(records, "FICT-2", "sleep", TODAY)
    assert refused.value.field == "kind"


def test_a_diary_day_with_too_many_leaks_is_refused_naming_the_field(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords
) -> None:
    clinic.add_patient("FICT-2", BORN)
    token = create_diary_link(records, "FICT-2", "bladder", TODAY)
    with pytest.raises(FieldError) as refused:
        save_diary_entry(records, token, TODAY, {"voids": "9", "incontinence_episodes": "61"}, TODAY)
    assert refused.value.field == "incontinence_episodes"
    assert clinic.diaries == {}


def test_a_headache_diary_gives_headache_days_per_cycle(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords, knowledge: KnowledgeBase
) -> None:
    patient_id = clinic.add_patient("FICT-3", BORN)
    clinic.add_session(patient_id, GivenSession(FIRST, MIGRAINE, BOTOX, Decimal(155), "ok"))
    token = create_diary_link(records, "FICT-3", "headache", FIRST - timedelta(days=40))
    for offset in range(28):
        day = FIRST - timedelta(days=offset)
        hours = {"headache_minutes": "360", "features": ["pulsating", "moderate-or-severe"]} if offset % 2 else {}
        assert save_diary_entry(records, token, day, hours, FIRST)
    [outcomes] = patient_outcomes(records, knowledge, "FICT-3", TODAY)
    by_instrument = {s.instrument.id: s for s in outcomes.series}
    [(baseline, cycle)] = by_instrument["headache-days"].points
    assert cycle == 0
    assert baseline.score.value == Decimal(14)


def test_the_continuation_report_holds_the_doses_and_adverse_events_of_the_indication(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords, knowledge: KnowledgeBase
) -> None:
    patient_id = treated_for_hyperhidrosis(clinic)
    hdss(records, knowledge, FIRST, "4")
    hdss(records, knowledge, FIRST + timedelta(days=42), "2")
    clinic.adverse_events[patient_id] = [
        (HYPERHIDROSIS, StoredAdverseEvent(FIRST + timedelta(days=3), "compensatory-sweating", "mild", "")),
        (MIGRAINE, StoredAdverseEvent(FIRST, "neck-weakness", "mild", "")),
    ]
    report = continuation_report(records, knowledge, "FICT-1", HYPERHIDROSIS, TODAY)
    assert [(d.on, d.units) for d in report.doses] == [(FIRST, Decimal(100)), (SECOND, Decimal(100))]
    assert [e.event for e in report.adverse_events] == ["compensatory-sweating"]
    [measure] = report.measures
    assert (measure.baseline, measure.latest) == (measure.series.points[0][0], measure.series.points[-1][0])


def test_treated_six_weeks_ago_without_an_assessment_is_due_and_a_measurement_since_clears_it(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords, knowledge: KnowledgeBase
) -> None:
    last = TODAY - timedelta(days=50)
    patient_id = clinic.add_patient("FICT-4", BORN)
    clinic.add_session(patient_id, GivenSession(last, HYPERHIDROSIS, BOTOX, Decimal(100), "ok"))
    charts = FakePatientCharts(FakeClinic())
    charts.clinic.add_patient(
        "FICT-4", Patient(birth_date=BORN), (Administration(last, BOTOX, HYPERHIDROSIS, Decimal(100)),)
    )
    due = follow_up_page(FakeFollowUpRecords(clinic, charts.clinic), knowledge, TODAY)
    [row] = due.assessments
    assert (row.what, row.indication_id, row.due, row.overdue_days) == (
        ASSESSMENT,
        HYPERHIDROSIS,
        last + timedelta(42),
        8,
    )
    assert row.patient.mrn == "FICT-4"
    assert not due.assessments_outdated
    hdss(records, knowledge, TODAY, "2", mrn="FICT-4")
    assert follow_up_page(FakeFollowUpRecords(clinic, charts.clinic), knowledge, TODAY).assessments == ()


def test_assessments_kept_with_other_knowledge_are_shown_and_said_to_be_out_of_date(
    clinic: FakeOutcomeClinic, knowledge: KnowledgeBase
) -> None:
    last = TODAY - timedelta(days=50)
    patient_id = clinic.add_patient("FICT-4", BORN)
    clinic.add_session(patient_id, GivenSession(last, HYPERHIDROSIS, BOTOX, Decimal(100), "ok"))
    charts = FakeClinic()
    charts.add_patient("FICT-4", Patient(birth_date=BORN), (Administration(last, BOTOX, HYPERHIDROSIS, Decimal(100)),))
    records = FakeFollowUpRecords(clinic, charts)
    for kept_with, outdated in ((verdict_basis(knowledge), False), ("other knowledge files", True), ("", True)):
        records.kept_with_basis = kept_with
        found = follow_up_page(records, knowledge, TODAY)
        assert (len(found.assessments), found.assessments_outdated) == (1, outdated)
        assert follow_up_document(found)["assessments_outdated"] is outdated


def test_a_withdrawn_measurement_does_not_clear_an_assessment_due(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords, knowledge: KnowledgeBase
) -> None:
    last = TODAY - timedelta(days=50)
    patient_id = clinic.add_patient("FICT-5", BORN)
    clinic.add_session(patient_id, GivenSession(last, HYPERHIDROSIS, BOTOX, Decimal(100), "ok"))
    clinic.outcomes.setdefault(patient_id, []).append(
        StoredOutcome(HYPERHIDROSIS, "hdss", TODAY, None, Score("hdss", grade="2", rank=1), withdrawn=True)
    )
    charts = FakePatientCharts(FakeClinic())
    charts.clinic.add_patient(
        "FICT-5", Patient(birth_date=BORN), (Administration(last, BOTOX, HYPERHIDROSIS, Decimal(100)),)
    )
    [row] = follow_up_page(FakeFollowUpRecords(clinic, charts.clinic), knowledge, TODAY).assessments
    assert (row.indication_id, row.overdue_days) == (HYPERHIDROSIS, 8)


def test_a_patient_whose_repeat_session_the_check_allows_today_is_listed_for_a_next_session(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords, knowledge: KnowledgeBase
) -> None:
    last = TODAY - timedelta(days=365)
    patient_id = clinic.add_patient("FICT-5", BORN)
    clinic.add_session(patient_id, GivenSession(last, HYPERHIDROSIS, BOTOX, Decimal(100), "ok"))
    charts = FakePatientCharts(FakeClinic())
    charts.clinic.add_patient(
        "FICT-5", Patient(birth_date=BORN), (Administration(last, BOTOX, HYPERHIDROSIS, Decimal(100)),)
    )
    [row] = follow_up_page(FakeFollowUpRecords(clinic, charts.clinic), knowledge, TODAY).sessions
    assert (row.what, row.due, row.brand) == (NEXT_SESSION, TODAY, knowledge.products[BOTOX].brand)


def test_the_registry_counts_treatments_and_responders_without_identifiers(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords, knowledge: KnowledgeBase
) -> None:
    treated_for_hyperhidrosis(clinic, "FICT-1")
    treated_for_hyperhidrosis(clinic, "FICT-6")
    for mrn, follow_up in (("FICT-1", "2"), ("FICT-6", "3")):
        hdss(records, knowledge, FIRST, "4", mrn=mrn)
        hdss(records, knowledge, FIRST + timedelta(days=42), follow_up, mrn=mrn)
    found = registry(records, knowledge)
    [treatment] = found.treatments
    assert (treatment.indication, treatment.sessions, treatment.patients) == (HYPERHIDROSIS, 4, 2)
    [rate] = found.responders
    assert (rate.responders, rate.non_responders, rate.not_assessable, rate.rate) == (1, 1, 0, 50)
    assert "FICT" not in repr(found)


def test_a_continuation_setting_is_kept_per_rule(records: FakeOutcomeRecords, knowledge: KnowledgeBase) -> None:
    configure_continuation_rule(records, knowledge, "nice-ta260-two-cycles", "payer", cycles=3)
    configure_continuation_rule(records, knowledge, "nice-ta260-two-cycles", "payer changed", months=6)
    assert records.continuation_settings() == {
        "nice-ta260-two-cycles": ContinuationSetting("nice-ta260-two-cycles", True, None, None, 6, "payer changed")
    }


def test_a_stored_diary_day_with_no_symptom_ticked_is_no_migraine_day(knowledge: KnowledgeBase) -> None:
    """The store keeps a day's values as text: a "no" comes back as "False", which must not read as yes (it made
    every long painful day a migraine day, and raised the monthly counts responders are judged by)."""
    from bont.domain.outcomes.diaries import classify_day
    from bont.services.outcomes import headache_entry

    stored = {"headache_minutes": "300", "features": ["unilateral", "pulsating"], "aura_minutes": "0"}
    stored |= {"nausea_or_vomiting": "False", "photophobia": "False", "phonophobia": "False"}
    assert knowledge.headache_day_rules is not None
    day = classify_day(headache_entry(stored, TODAY), knowledge.headache_day_rules)
    assert (day.headache_day, day.migraine_day) == (True, False)
    ticked = classify_day(headache_entry(stored | {"nausea_or_vomiting": "True"}, TODAY), knowledge.headache_day_rules)
    assert ticked.migraine_day
