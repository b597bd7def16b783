"""The patient, user and adverse-event use cases on in-memory fakes of their ports."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import Administration, Patient
from bont.services.adverse_events import (
    AdverseEventError,
    AdverseEventReport,
    list_adverse_events,
    onset_problems,
    report_adverse_event,
    reporting_form,
)
from bont.services.clock import FixedClock
from bont.services.patients import (
    NewPatient,
    PatientRecordError,
    find_patients,
    patient_chart,
    register_patient,
)
from bont.services.ports import UnknownPatientError
from bont.services.users import AccountError, add_user, authenticate_token, issue_api_token
from tests.fakes import (
    FakeAdverseEvents,
    FakeClinic,
    FakePatientCharts,
    FakePatientRegistry,
    FakeRegistry,
    FakeUserAccounts,
    SessionEntry,
)

TODAY = date(2026, 11, 29)
CLOCK = FixedClock.on(TODAY)
BORN = date(1970, 6, 1)
MRN = "FICT-U1"


def patient(mrn: str = MRN, **fields: object) -> NewPatient:
    values: dict[str, object] = {"birth_date": BORN, **fields}
    return NewPatient(mrn=mrn, given_name="Fictional", family_name="Unit", **values)  # type: ignore[arg-type]


def registered(state: FakeRegistry, *sessions: SessionEntry) -> None:
    register_patient(FakePatientRegistry(state), CLOCK, patient())
    state.sessions[MRN].extend(sessions)


def botox(session_id: int, on: date, withdrawn: bool = False) -> SessionEntry:
    return SessionEntry(
        session_id, on, "onabotulinumtoxinA", "cervical-dystonia", Decimal(150), "ok", "", "x" * withdrawn, False
    )


def test_refuses_a_patient_born_after_the_day_of_recording() -> None:
    with pytest.raises(PatientRecordError) as refused:
        register_patient(FakePatientRegistry(FakeRegistry()), CLOCK, patient(birth_date=date(2026, 12, 1)))
    assert (refused.value.field, refused.value.problem) == ("birth_date", "is in the future")


def test_refuses_an_unknown_sex_naming_the_choices() -> None:
    with pytest.raises(PatientRecordError) as refused:
        register_patient(FakePatientRegistry(FakeRegistry()), CLOCK, patient(sex="x"))
    assert refused.value.field == "sex"
    assert "female, male, other, unknown" in refused.value.problem


def test_the_first_weight_is_dated_the_clinic_day_of_registration() -> None:
    state = FakeRegistry()
    register_patient(FakePatientRegistry(state), CLOCK, patient(weight_kg=Decimal(60)))
    assert [w.on for w in state.weights[MRN]] == [TODAY]


def test_search_ignores_surrounding_spaces() -> None:
    state = FakeRegistry()
    registered(state)
    assert [row.mrn for row in find_patients(FakePatientRegistry(state), "  unit ")] == [MRN]


def test_chart_shows_sessions_latest_first_with_the_brand_and_the_gauges_and_warnings(
    knowledge: KnowledgeBase,
) -> None:
    state = FakeRegistry()
    registered(state, botox(1, date(2026, 3, 1)), botox(2, date(2026, 8, 1)))
    clinic = FakeClinic()
    clinic.add_patient(
        MRN,
        Patient(birth_date=BORN, allergies=("albumin",), pregnant=True),
        (Administration(date(2026, 3, 1), "onabotulinumtoxinA", "cervical-dystonia", Decimal(150)),),
    )
    chart = patient_chart(FakePatientRegistry(state), FakePatientCharts(clinic), knowledge, MRN, TODAY)
    assert [s.session.id for s in chart.sessions] == [2, 1]
    assert chart.sessions[0].brand == knowledge.products["onabotulinumtoxinA"].brand
    assert "allergy: albumin" in chart.warnings
    assert "pregnant" in chart.warnings
    assert [g.gauge.product for g in chart.gauges] == ["onabotulinumtoxinA"] * len(chart.gauges)
    assert chart.patient.name == "Unit, Fictional"


def test_a_chart_of_an_unknown_mrn_is_refused(knowledge: KnowledgeBase) -> None:
    with pytest.raises(UnknownPatientError):
        patient_chart(FakePatientRegistry(FakeRegistry()), FakePatientCharts(FakeClinic()), knowledge, MRN, TODAY)


def test_a_token_authenticates_its_user_only_while_active() -> None:
    state = FakeRegistry()
    accounts = FakeUserAccounts(state)
    add_user(accounts, "fict-clinician", "clinician")
    now = FixedClock.on(TODAY).now()
    token = issue_api_token(accounts, "fict-clinician", now)
    assert authenticate_token(accounts, token, now) == "fict-clinician"
    assert token not in state.tokens  # only the hash is kept
    state.users["fict-clinician"].active = False
    assert authenticate_token(accounts, token, now) is None


def test_refuses_an_unknown_role_and_a_token_for_nobody() -> None:
    accounts = FakeUserAccounts(FakeRegistry())
    with pytest.raises(AccountError) as refused:
        add_user(accounts, "fict", "surgeon")
    assert refused.value.field == "role"
    with pytest.raises(AccountError) as nobody:
        issue_api_token(accounts, "fict", FixedClock.on(TODAY).now())
    assert (nobody.value.field, nobody.value.problem) == ("username", "no such user")


@pytest.mark.parametrize(
    ("onset", "session", "field", "problem"),
    [
        (date(2026, 12, 1), None, "onset", "is in the future"),
        (date(1960, 1, 1), None, "onset", "is before the patient's birth"),
        (date(2026, 2, 1), 1, "onset", "is before the suspected session"),
        (date(2026, 4, 1), 9, "session", "no session with this id for this patient"),
        (date(2026, 4, 1), None, "severity", "must be one of mild, moderate, severe"),
    ],
)
def test_refuses_an_adverse_event_by_field(onset: date, session: int | None, field: str, problem: str) -> None:
    state = FakeRegistry()
    registered(state, botox(1, date(2026, 3, 1)))
    severity = "grave" if field == "severity" else "mild"
    with pytest.raises(AdverseEventError) as refused:
        report_adverse_event(
            FakeAdverseEvents(state),
            CLOCK,
            AdverseEventReport(MRN, "ptosis", onset, severity, session, serious=False),
        )
    assert (refused.value.field, refused.value.problem) == (field, problem)
    assert state.events == []


def test_an_adverse_event_against_an_unknown_mrn_names_the_field_only() -> None:
    with pytest.raises(UnknownPatientError) as refused:
        report_adverse_event(
            FakeAdverseEvents(FakeRegistry()), CLOCK, AdverseEventReport(MRN, "ptosis", TODAY, "mild", serious=False)
        )
    assert refused.value.field == "mrn"
    assert MRN not in str(refused.value)


def test_the_report_form_offers_only_sessions_not_withdrawn_and_refuses_a_withdrawn_one() -> None:
    state = FakeRegistry()
    registered(state, botox(1, date(2026, 3, 1)), botox(2, date(2026, 6, 1), withdrawn=True))
    form = reporting_form(FakeAdverseEvents(state), MRN)
    assert [s.id for s in form.choices] == [1]
    assert onset_problems(form, date(2026, 7, 1), 2, TODAY) == {"session": "choose one of this patient's sessions"}
    assert onset_problems(form, date(2026, 2, 1), 1, TODAY) == {"onset": "is before the suspected session"}


def test_the_event_list_names_the_suspected_product_by_brand(knowledge: KnowledgeBase) -> None:
    state = FakeRegistry()
    registered(state, botox(1, date(2026, 3, 1)))
    events = FakeAdverseEvents(state)
    report_adverse_event(events, CLOCK, AdverseEventReport(MRN, "ptosis", date(2026, 3, 10), "mild", 1, serious=False))
    report_adverse_event(events, CLOCK, AdverseEventReport(MRN, "headache", date(2026, 4, 10), "mild", serious=True))
    rows = list_adverse_events(events, knowledge)
    assert [(r.event, r.brand, r.serious) for r in rows] == [
        ("headache", "", True),
        ("ptosis", knowledge.products["onabotulinumtoxinA"].brand, False),
    ]


def test_serious_is_no_longer_a_severity_and_every_report_says_whether_it_was_serious() -> None:
    state = FakeRegistry()
    registered(state, botox(1, date(2026, 3, 1)))
    events = FakeAdverseEvents(state)
    with pytest.raises(AdverseEventError) as as_severity:
        report_adverse_event(events, CLOCK, AdverseEventReport(MRN, "dysphagia", date(2026, 3, 10), "serious", 1))
    assert as_severity.value.field == "severity"
    assert "whether the event was serious is stated apart" in as_severity.value.problem
    with pytest.raises(AdverseEventError) as unstated:
        report_adverse_event(events, CLOCK, AdverseEventReport(MRN, "dysphagia", date(2026, 3, 10), "severe", 1))
    assert (unstated.value.field, unstated.value.problem) == (
        "serious",
        "say whether the event was serious (yes or no)",
    )
    assert state.events == []
    report_adverse_event(
        events, CLOCK, AdverseEventReport(MRN, "dysphagia", date(2026, 3, 10), "mild", 1, serious=True)
    )
    [entry] = FakePatientRegistry(state).record(MRN).adverse_events
    assert (entry.severity, entry.serious, entry.grading) == ("mild", True, "mild, serious")
