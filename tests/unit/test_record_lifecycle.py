"""The record lifecycle on in-memory fakes of the ports: withdrawing and correcting sessions, outcome measurements
and adverse events. A withdrawn record is kept, with who withdrew it and why, and no longer counts; a session is
corrected by withdrawing it and recording the corrected session through the same check, atomically; only a
clinician withdraws or corrects a session."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import Administration, Patient, SessionSite
from bont.services.adverse_events import (
    AdverseEventCorrection,
    AdverseEventError,
    AdverseEventReport,
    adverse_event,
    correct_adverse_event,
    list_adverse_events,
    report_adverse_event,
    withdraw_adverse_event,
)
from bont.services.clock import FixedClock
from bont.services.follow_up import ASSESSMENT, follow_up_page
from bont.services.outcome_ports import GivenSession
from bont.services.outcomes import outcome_entries, patient_outcomes, record_outcome, withdraw_outcome
from bont.services.patients import NewPatient, patient_chart, register_patient
from bont.services.ports import VialState
from bont.services.records import RecordingError, RecordSession, VialOpening, correct_session, record_session
from bont.services.sessions import SessionError, session_detail, withdraw_session
from tests.fakes import (
    FakeAdverseEvents,
    FakeClinic,
    FakeClinicalRecords,
    FakeFollowUpRecords,
    FakeOutcomeClinic,
    FakeOutcomeRecords,
    FakePatientCharts,
    FakePatientRegistry,
    FakeRegistry,
    FakeSessionBook,
    FakeSessionRecords,
    SessionEntry,
)

DAY = date(2026, 11, 21)
BORN = date(1970, 1, 1)
BOTOX = "onabotulinumtoxinA"
DYSTONIA = "cervical-dystonia"
ADULT = Patient(birth_date=BORN, sex="female", weight_kg=Decimal(70))
# 300 U of BOTOX three weeks ago: 100 U more fits the 400 U in 3 months, 101 U does not.
EARLIER = Administration(DAY - timedelta(days=21), BOTOX, DYSTONIA, Decimal(300), None)
REVIEWED = (("site-dose-exceeds-maximum", "reviewed with the patient"),)


# -- sessions: withdrawal


def booked() -> tuple[FakeSessionBook, int]:
    book = FakeSessionBook(clinicians={"dr-fake"})
    patient = book.add_patient("FICT-L1")
    session_id = book.add_session(patient, DAY, BOTOX, DYSTONIA, (("splenius-capitis", "left", Decimal(100)),))
    return book, session_id


def test_only_a_clinician_withdraws_a_session() -> None:
    book, session_id = booked()
    records = FakeSessionRecords(book)
    with pytest.raises(SessionError) as refused:
        withdraw_session(records, session_id, "entered for the wrong patient", by="nurse-fake")
    assert refused.value.field == "by"
    assert not session_detail(records, session_id).withdrawn
    withdraw_session(records, session_id, "entered for the wrong patient", by="dr-fake")
    summary = session_detail(records, session_id).summary
    assert (summary.withdrawn_reason, summary.withdrawn_by) == ("entered for the wrong patient", "dr-fake")


def test_the_command_line_withdraws_a_session_without_naming_a_user() -> None:
    book, session_id = booked()
    withdraw_session(FakeSessionRecords(book), session_id, "duplicate entry")
    assert session_detail(FakeSessionRecords(book), session_id).summary.withdrawn_by is None


# -- sessions: correction


def clinic_with_a_session(units: str = "90") -> tuple[FakeClinic, int]:
    """A patient with 300 U three weeks ago and a session of ``units`` recorded today (session 1)."""
    clinic = FakeClinic(clinicians={"dr-fictional"})
    patient_id = clinic.add_patient("FICT-L2", ADULT, (EARLIER,))
    clinic.vials[7] = VialState(7, BOTOX, "FICT-LOT", date(2027, 6, 30), Decimal(200), Decimal(0), None, "sealed")
    return clinic, patient_id


def given(patient_id: int, units: str, **fields: object) -> RecordSession:
    half = Decimal(units) / 2
    sites = (SessionSite("splenius-capitis", "left", half), SessionSite("splenius-capitis", "right", half))
    command = RecordSession(patient_id, DAY, "dr-fictional", DYSTONIA, "BOTOX", sites, acknowledgements=REVIEWED)
    return replace(command, **fields)  # type: ignore[arg-type]


def history(clinic: FakeClinic, patient_id: int) -> list[tuple[date, Decimal]]:
    return sorted((h.on, h.units) for h in clinic.history[patient_id])


def test_a_correction_replaces_the_session_in_the_history_the_check_reads(knowledge: KnowledgeBase) -> None:
    clinic, patient_id = clinic_with_a_session()
    records = FakeClinicalRecords(clinic)
    first = record_session(records, knowledge, given(patient_id, "90"))
    # 300 + 100 U is within 400 U in 3 months only because the 90 U session is no longer counted.
    corrected = correct_session(records, knowledge, first, given(patient_id, "100"), "100 U were given", "dr-fictional")
    assert history(clinic, patient_id) == [(EARLIER.on, Decimal(300)), (DAY, Decimal(100))]
    assert clinic.withdrawn == {first: ("100 U were given", "dr-fictional")}
    assert clinic.sessions[corrected - 1].corrects == first


def test_a_correction_the_check_blocks_writes_nothing_and_leaves_the_session_counted(
    knowledge: KnowledgeBase,
) -> None:
    clinic, patient_id = clinic_with_a_session()
    records = FakeClinicalRecords(clinic)
    first = record_session(records, knowledge, given(patient_id, "90"))
    with pytest.raises(RecordingError) as refused:
        correct_session(records, knowledge, first, given(patient_id, "120"), "120 U were given", "dr-fictional")
    assert refused.value.field == "override_reason"
    assert "cumulative-dose-exceeds-maximum" in refused.value.problem
    assert clinic.withdrawn == {}
    assert len(clinic.sessions) == 1
    assert history(clinic, patient_id) == [(EARLIER.on, Decimal(300)), (DAY, Decimal(90))]


@pytest.mark.parametrize(
    ("session_id", "reason", "by", "field"),
    [
        (1, "  ", "dr-fictional", "reason"),
        (1, "wrong dose", "nurse-fictional", "by"),
        (99, "wrong dose", "dr-fictional", "session"),
    ],
)
def test_a_correction_needs_a_reason_a_clinician_and_a_recorded_session(
    knowledge: KnowledgeBase, session_id: int, reason: str, by: str, field: str
) -> None:
    clinic, patient_id = clinic_with_a_session()
    records = FakeClinicalRecords(clinic)
    record_session(records, knowledge, given(patient_id, "90"))
    with pytest.raises(RecordingError) as refused:
        correct_session(records, knowledge, session_id, given(patient_id, "80"), reason, by)
    assert refused.value.field == field
    assert (clinic.withdrawn, len(clinic.sessions)) == ({}, 1)


def test_a_withdrawn_session_or_another_patient_cannot_be_corrected(knowledge: KnowledgeBase) -> None:
    clinic, patient_id = clinic_with_a_session()
    other = clinic.add_patient("FICT-L3", ADULT)
    records = FakeClinicalRecords(clinic)
    first = record_session(records, knowledge, given(patient_id, "90"))
    with pytest.raises(RecordingError) as wrong_patient:
        correct_session(records, knowledge, first, given(other, "90"), "wrong patient", "dr-fictional")
    assert wrong_patient.value.field == "patient_mrn"
    correct_session(records, knowledge, first, given(patient_id, "80"), "80 U were given", "dr-fictional")
    with pytest.raises(RecordingError) as twice:
        correct_session(records, knowledge, first, given(patient_id, "70"), "again", "dr-fictional")
    assert (twice.value.field, len(clinic.sessions)) == ("session", 2)


def test_the_corrected_session_keeps_the_vials_drawn_once(knowledge: KnowledgeBase) -> None:
    clinic, patient_id = clinic_with_a_session()
    records = FakeClinicalRecords(clinic)
    opened = (VialOpening(7, FixedClock.on(DAY).now(), None),)
    first = record_session(records, knowledge, given(patient_id, "90", draws=((7, Decimal(100)),), openings=opened))
    assert clinic.vials[7].units_drawn == 100
    with pytest.raises(RecordingError) as more:
        correct_session(records, knowledge, first, given(patient_id, "110"), "110 U were given", "dr-fictional")
    assert more.value.field == "draws"
    assert "100 U of them drawn for the session corrected" in more.value.problem
    corrected = correct_session(records, knowledge, first, given(patient_id, "96"), "96 U given", "dr-fictional")
    written = clinic.sessions[corrected - 1]
    assert (written.draws, written.carried_draws) == ((), ((7, Decimal(100)),))
    assert clinic.vials[7].units_drawn == 100  # not drawn a second time


def test_the_chart_gauge_counts_the_corrected_session_only(knowledge: KnowledgeBase) -> None:
    clinic, patient_id = clinic_with_a_session()
    records = FakeClinicalRecords(clinic)
    state = FakeRegistry()
    register_patient(FakePatientRegistry(state), FixedClock.on(DAY), NewPatient("FICT-L2", "Fictional", "Unit", BORN))
    first = record_session(records, knowledge, given(patient_id, "90"))

    def used() -> Decimal:
        chart = patient_chart(FakePatientRegistry(state), FakePatientCharts(clinic), knowledge, "FICT-L2", DAY)
        return next(g.gauge.used for g in chart.gauges if g.gauge.product == BOTOX)

    assert used() == 390
    correct_session(records, knowledge, first, given(patient_id, "60"), "60 U were given", "dr-fictional")
    assert used() == 360


# -- outcome measurements


def hyperhidrosis(knowledge: KnowledgeBase) -> tuple[FakeOutcomeRecords, FakeOutcomeClinic, int, int]:
    clinic = FakeOutcomeClinic()
    patient_id = clinic.add_patient("FICT-L4", BORN)
    first = date(2026, 1, 5)
    clinic.add_session(patient_id, GivenSession(first, "axillary-hyperhidrosis", BOTOX, Decimal(100), "ok"))
    records = FakeOutcomeRecords(clinic)
    # One measurement at baseline, one six weeks after the session.
    record_outcome(records, knowledge, "FICT-L4", "axillary-hyperhidrosis", "hdss", first, "4", "dr-fictional", DAY)
    six_weeks = first + timedelta(days=42)
    later = record_outcome(
        records, knowledge, "FICT-L4", "axillary-hyperhidrosis", "hdss", six_weeks, "2", "nurse-fictional", DAY
    )
    return records, clinic, patient_id, later


def test_a_withdrawn_measurement_is_listed_with_who_and_why_and_no_longer_judged(knowledge: KnowledgeBase) -> None:
    records, _, _, later = hyperhidrosis(knowledge)
    [before] = patient_outcomes(records, knowledge, "FICT-L4", DAY)
    assert before.series[0].latest_verdict is not None
    assert str(before.series[0].latest_verdict.status) == "responder"
    withdraw_outcome(records, later, "  entered for the wrong patient ", by="nurse-fictional")
    [after] = patient_outcomes(records, knowledge, "FICT-L4", DAY)
    assert [m.on for m, _ in after.series[0].points] == [date(2026, 1, 5)]
    entries = outcome_entries(records, knowledge, "FICT-L4")
    assert [(e.id, e.withdrawn, e.withdrawn_reason, e.withdrawn_by) for e in entries] == [
        (later, True, "entered for the wrong patient", "nurse-fictional"),
        (later - 1, False, "", None),
    ]
    assert entries[0].instrument == knowledge.instruments["hdss"].name


def test_withdrawing_a_measurement_needs_a_reason_and_happens_once(knowledge: KnowledgeBase) -> None:
    records, _, _, later = hyperhidrosis(knowledge)
    with pytest.raises(FieldError) as no_reason:
        withdraw_outcome(records, later, " ")
    assert no_reason.value.field == "reason"
    withdraw_outcome(records, later, "duplicate")
    with pytest.raises(FieldError, match="already withdrawn") as twice:
        withdraw_outcome(records, later, "again")
    assert twice.value.field == "outcome"
    with pytest.raises(FieldError) as unknown:
        withdraw_outcome(records, 4242, "entered in error")
    assert (unknown.value.field, "4242" in str(unknown.value)) == ("outcome", False)


def test_a_withdrawn_measurement_leaves_the_assessment_due(knowledge: KnowledgeBase) -> None:
    clinic = FakeOutcomeClinic()
    patient_id = clinic.add_patient("FICT-L5", BORN)
    treated = DAY - timedelta(days=60)
    clinic.add_session(patient_id, GivenSession(treated, "axillary-hyperhidrosis", BOTOX, Decimal(100), "ok"))
    records = FakeOutcomeRecords(clinic)
    measured = record_outcome(
        records, knowledge, "FICT-L5", "axillary-hyperhidrosis", "hdss", DAY, "2", "dr-fictional", DAY
    )
    charts = FakePatientCharts(FakeClinic())
    charts.clinic.add_patient("FICT-L5", ADULT)

    def due() -> list[str]:
        found = follow_up_page(FakeFollowUpRecords(clinic, charts.clinic), knowledge, DAY)
        return [r.what for r in found.assessments]

    assert due() == []
    withdraw_outcome(records, measured, "entered for the wrong patient")
    assert due() == [ASSESSMENT]


# -- adverse events


@pytest.fixture
def events() -> tuple[FakeRegistry, FakeAdverseEvents, int]:
    state = FakeRegistry()
    register_patient(FakePatientRegistry(state), FixedClock.on(DAY), NewPatient("FICT-L6", "Fictional", "Unit", BORN))
    state.sessions["FICT-L6"].append(
        SessionEntry(1, DAY - timedelta(days=30), BOTOX, DYSTONIA, Decimal(100), "ok", "", "", False)
    )
    port = FakeAdverseEvents(state)
    report = AdverseEventReport("FICT-L6", "ptosis", DAY - timedelta(days=20), "mild", 1, serious=False)
    event_id = report_adverse_event(port, FixedClock.on(DAY), report)
    return state, port, event_id


def test_a_correction_changes_only_the_fields_given_and_keeps_who_made_it(
    events: tuple[FakeRegistry, FakeAdverseEvents, int],
) -> None:
    state, port, event_id = events
    corrected = correct_adverse_event(
        port,
        FixedClock.on(DAY),
        event_id,
        AdverseEventCorrection(severity="moderate", serious=True, outcome=" resolved "),
        by="nurse-fictional",
    )
    assert (corrected.event, corrected.severity, corrected.serious, corrected.outcome) == (
        "ptosis",
        "moderate",
        True,
        "resolved",
    )
    assert state.corrected_by[event_id] == ["nurse-fictional"]


@pytest.mark.parametrize(
    ("correction", "field", "problem"),
    [
        (AdverseEventCorrection(severity="serious"), "severity", "is the intensity (mild, moderate or severe)"),
        (AdverseEventCorrection(severity="grave"), "severity", "must be one of mild, moderate, severe"),
        (AdverseEventCorrection(onset=DAY + timedelta(days=1)), "onset", "is in the future"),
        (AdverseEventCorrection(onset=DAY - timedelta(days=31)), "onset", "is before the suspected session"),
        (AdverseEventCorrection(event=" "), "event", "describe the event"),
        (AdverseEventCorrection(event="x" * 61), "event", "at most 60 characters"),
        (AdverseEventCorrection(), "event", "give at least one field to correct"),
    ],
)
def test_a_correction_is_checked_as_a_report_is_and_refused_naming_the_field(
    events: tuple[FakeRegistry, FakeAdverseEvents, int], correction: AdverseEventCorrection, field: str, problem: str
) -> None:
    state, port, event_id = events
    with pytest.raises(AdverseEventError) as refused:
        correct_adverse_event(port, FixedClock.on(DAY), event_id, correction)
    assert (refused.value.field, refused.value.problem.startswith(problem)) == (field, True)
    assert adverse_event(port, event_id).severity == "mild"
    assert state.corrected_by == {}


def test_a_withdrawn_event_is_listed_struck_leaves_the_warnings_and_cannot_be_corrected(
    events: tuple[FakeRegistry, FakeAdverseEvents, int], knowledge: KnowledgeBase
) -> None:
    state, port, event_id = events
    with pytest.raises(AdverseEventError) as no_reason:
        withdraw_adverse_event(port, event_id, "")
    assert no_reason.value.field == "reason"
    withdraw_adverse_event(port, event_id, "another patient's event", by="dr-fictional")
    [row] = list_adverse_events(port, knowledge)
    assert (row.withdrawn, row.withdrawn_reason, row.withdrawn_by) == (True, "another patient's event", "dr-fictional")
    with pytest.raises(AdverseEventError, match="already withdrawn"):
        withdraw_adverse_event(port, event_id, "again")
    with pytest.raises(AdverseEventError, match="withdrawn") as correcting:
        correct_adverse_event(port, FixedClock.on(DAY), event_id, AdverseEventCorrection(severity="severe"))
    assert correcting.value.field == "event_id"
    clinic = FakeClinic()
    clinic.add_patient("FICT-L6", ADULT)
    chart = patient_chart(FakePatientRegistry(state), FakePatientCharts(clinic), knowledge, "FICT-L6", DAY)
    assert chart.active_adverse_events == ()
    assert [(e.event, e.withdrawn_by) for e in chart.withdrawn_adverse_events] == [("ptosis", "dr-fictional")]


def test_an_unknown_event_is_refused_without_repeating_its_id(
    events: tuple[FakeRegistry, FakeAdverseEvents, int],
) -> None:
    _, port, _ = events
    for attempt in (
        lambda: adverse_event(port, 4242),
        lambda: withdraw_adverse_event(port, 4242, "entered in error"),
        lambda: correct_adverse_event(port, FixedClock.on(DAY), 4242, AdverseEventCorrection(severity="severe")),
    ):
        with pytest.raises(AdverseEventError) as refused:
            attempt()
        assert (refused.value.field, "4242" in str(refused.value)) == ("event_id", False)
