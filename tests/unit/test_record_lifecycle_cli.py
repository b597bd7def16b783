"""The record-lifecycle commands in process (Typer's CliRunner) on the in-memory fakes, wired in place of the
Django adapters: ``bont session withdraw|correct``, ``bont outcome withdraw|list`` and ``bont adverse-event
update|withdraw``. Errors name the option and exit 2; a correction the check blocks exits 3."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bont import bootstrap
from bont.bootstrap import build_knowledge
from bont.cli import outcomes as outcome_commands
from bont.cli import records
from bont.cli.app import app
from bont.domain.safety import Administration, Patient, SessionSite
from bont.services.adverse_events import AdverseEventReport
from bont.services.clock import FixedClock
from bont.services.outcome_ports import GivenSession
from bont.services.outcomes import record_outcome
from bont.services.patients import NewPatient
from bont.services.records import RecordSession, record_session
from tests.fakes import (
    FakeAccessLog,
    FakeAdverseEvents,
    FakeClinic,
    FakeClinicalRecords,
    FakeOutcomeClinic,
    FakeOutcomeRecords,
    FakePatientRegistry,
    FakeRegistry,
    FakeSessionBook,
    FakeSessionRecords,
    SessionEntry,
)

RUNNER = CliRunner()
DAY = date(2026, 11, 21)
BORN = date(1970, 1, 1)
BOTOX = "onabotulinumtoxinA"
MRN = "FICT-CLI1"


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeSessionBook, FakeClinic]:
    """The same patient in the recorded-sessions fake (for withdrawal and the MRN) and in the clinical-records
    fake (for the correction's unit of work), both with id 1, and one session of 90 U (id 1 in both)."""
    book = FakeSessionBook(clinicians={"dr-fictional"})
    patient = book.add_patient(MRN, BORN)
    book.add_session(patient, DAY, BOTOX, "cervical-dystonia", (("splenius-capitis", "left", Decimal(90)),))
    clinic = FakeClinic(clinicians={"dr-fictional"})
    earlier = Administration(DAY - timedelta(days=21), BOTOX, "cervical-dystonia", Decimal(300), None)
    clinic.add_patient(MRN, Patient(birth_date=BORN, sex="female", weight_kg=Decimal(70)), (earlier,))
    from bont.bootstrap import build_knowledge

    sites = (
        SessionSite("splenius-capitis", "left", Decimal(45)),
        SessionSite("splenius-capitis", "right", Decimal(45)),
    )
    record_session(
        FakeClinicalRecords(clinic),
        build_knowledge(),
        RecordSession(1, DAY, "dr-fictional", "cervical-dystonia", "BOTOX", sites),
    )
    monkeypatch.setattr(bootstrap, "session_records", lambda: FakeSessionRecords(book))
    monkeypatch.setattr(records, "clinical_records", lambda: FakeClinicalRecords(clinic))
    monkeypatch.setattr(records, "clock", lambda: FixedClock(datetime(2026, 11, 21, 12)))
    return book, clinic


def corrected_document(tmp_path: Path, units: int) -> Path:
    document = {
        "patient_mrn": MRN,
        "date": DAY.isoformat(),
        "clinician": "dr-fictional",
        "indication": "cervical-dystonia",
        "product": "BOTOX",
        "sites": [
            {"muscle": "splenius-capitis", "side": "left", "units": units / 2},
            {"muscle": "splenius-capitis", "side": "right", "units": units / 2},
        ],
    }
    path = tmp_path / "corrected.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_only_a_clinician_withdraws_a_session_from_the_command_line(
    sessions: tuple[FakeSessionBook, FakeClinic],
) -> None:
    book, _ = sessions
    refused = RUNNER.invoke(app, ["session", "withdraw", "1", "--reason", "wrong patient", "--by", "nurse-fictional"])
    assert refused.exit_code == 2
    assert "--by: only a clinician may withdraw a session" in refused.output
    assert not book.sessions[1].withdrawn
    withdrawn = RUNNER.invoke(
        app, ["session", "withdraw", "1", "--reason", "wrong patient", "--by", "dr-fictional", "--json"]
    )
    assert withdrawn.exit_code == 0, withdrawn.output
    assert json.loads(withdrawn.stdout) == {"session_id": 1, "withdrawn": True}
    assert book.sessions[1].summary.withdrawn_by == "dr-fictional"
    again = RUNNER.invoke(app, ["session", "withdraw", "1", "--reason", "twice"])
    assert (again.exit_code, "SESSION: this session is already withdrawn" in again.output) == (2, True)


def test_a_session_is_corrected_through_the_check_and_linked(
    sessions: tuple[FakeSessionBook, FakeClinic], tmp_path: Path
) -> None:
    _, clinic = sessions
    blocked = RUNNER.invoke(
        app, ["session", "correct", "1", str(corrected_document(tmp_path, 120)), "--reason", "120 U were given"]
    )
    assert blocked.exit_code == 3, blocked.output
    assert "override_reason:" in blocked.output
    assert clinic.withdrawn == {}
    no_reason = RUNNER.invoke(app, ["session", "correct", "1", str(corrected_document(tmp_path, 80)), "--reason", ""])
    assert (no_reason.exit_code, "--reason:" in no_reason.output) == (2, True)
    corrected = RUNNER.invoke(
        app,
        ["session", "correct", "1", str(corrected_document(tmp_path, 100)), "--reason", "100 U were given", "--json"],
    )
    assert corrected.exit_code == 0, corrected.output
    assert json.loads(corrected.stdout) == {"session_id": 2, "corrects": 1}
    assert clinic.withdrawn == {1: ("100 U were given", "dr-fictional")}
    assert sorted(h.units for h in clinic.history[1]) == [Decimal(100), Decimal(300)]


def test_a_session_document_names_the_nurse_who_gave_it_and_when(
    sessions: tuple[FakeSessionBook, FakeClinic], tmp_path: Path
) -> None:
    _, clinic = sessions
    clinic.nurses.add("nurse-fictional")
    path = corrected_document(tmp_path, 10)  # 390 U in 3 months already: 10 U more fits 400 U
    document = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**document, "given_by": "billing-fictional"}), encoding="utf-8")
    refused = RUNNER.invoke(app, ["session", "record", str(path)])
    assert (refused.exit_code, "given_by: must name an active clinician or nurse" in refused.output) == (2, True)
    path.write_text(
        json.dumps({**document, "given_by": "nurse-fictional", "given_at": "2026-11-21T09:40"}), encoding="utf-8"
    )
    recorded = RUNNER.invoke(app, ["session", "record", str(path), "--json"])
    assert recorded.exit_code == 0, recorded.output
    written = clinic.sessions[-1]
    assert (written.clinician, written.given_by) == ("dr-fictional", "nurse-fictional")
    assert written.given_at is not None
    assert written.given_at.strftime("%Y-%m-%d %H:%M") == "2026-11-21 09:40"  # the clinic's wall-clock time


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> FakeOutcomeClinic:
    clinic = FakeOutcomeClinic()
    patient_id = clinic.add_patient(MRN, BORN)
    clinic.add_session(patient_id, GivenSession(date(2026, 1, 5), "axillary-hyperhidrosis", BOTOX, Decimal(100), "ok"))
    record_outcome(
        FakeOutcomeRecords(clinic), build_knowledge(), MRN, "axillary-hyperhidrosis", "hdss", DAY, "3", None, DAY
    )
    monkeypatch.setattr(outcome_commands, "outcome_records", lambda: FakeOutcomeRecords(clinic))
    monkeypatch.setattr(bootstrap, "access_log", FakeAccessLog)  # the list's read, logged: never a real database
    return clinic


def test_an_outcome_is_withdrawn_once_with_its_reason_and_listed_as_withdrawn(outcomes: FakeOutcomeClinic) -> None:
    no_reason = RUNNER.invoke(app, ["outcome", "withdraw", "1", "--reason", " "])
    assert (no_reason.exit_code, "--reason: give the reason" in no_reason.output) == (2, True)
    unknown = RUNNER.invoke(app, ["outcome", "withdraw", "42", "--reason", "entered in error"])
    assert (unknown.exit_code, "ID: no outcome measurement with this id" in unknown.output) == (2, True)
    withdrawn = RUNNER.invoke(app, ["outcome", "withdraw", "1", "--reason", "wrong patient", "--by", "demo-nurse"])
    assert withdrawn.exit_code == 0, withdrawn.output
    listed = RUNNER.invoke(app, ["outcome", "list", MRN, "--json"])
    assert listed.exit_code == 0, listed.output
    [entry] = json.loads(listed.stdout)
    assert (entry["id"], entry["withdrawn"], entry["withdrawn_reason"], entry["withdrawn_by"]) == (
        1,
        True,
        "wrong patient",
        "demo-nurse",
    )
    again = RUNNER.invoke(app, ["outcome", "withdraw", "1", "--reason", "twice"])
    assert (again.exit_code, "already withdrawn" in again.output) == (2, True)


def test_an_outcome_is_corrected_in_one_step_and_a_value_the_scale_refuses_changes_nothing(
    outcomes: FakeOutcomeClinic,
) -> None:
    day = DAY.isoformat()
    refused = RUNNER.invoke(app, ["outcome", "correct", "1", "--value", "5", "--date", day, "--reason", "misread"])
    assert (refused.exit_code, "--value:" in refused.output) == (2, True)
    unknown = RUNNER.invoke(app, ["outcome", "correct", "42", "--value", "2", "--date", day, "--reason", "misread"])
    assert (unknown.exit_code, "ID: no outcome measurement with this id" in unknown.output) == (2, True)
    corrected = RUNNER.invoke(
        app, ["outcome", "correct", "1", "--value", "2", "--date", day, "--reason", "grade misread", "--json"]
    )
    assert corrected.exit_code == 0, corrected.output
    assert json.loads(corrected.stdout) == {"id": 2, "corrects": 1}
    listed = json.loads(RUNNER.invoke(app, ["outcome", "list", MRN, "--json"]).stdout)
    assert sorted((entry["id"], entry["withdrawn"], entry["withdrawn_reason"]) for entry in listed) == [
        (1, True, "corrected: grade misread"),
        (2, False, None),
    ]


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> FakeRegistry:
    state = FakeRegistry()
    FakePatientRegistry(state).add(NewPatient(MRN, "Fictional", "Unit", BORN), date(2026, 1, 5))
    state.sessions[MRN].append(
        SessionEntry(1, DAY - timedelta(days=30), BOTOX, "cervical-dystonia", Decimal(100), "ok", "", "", False)
    )
    FakeAdverseEvents(state).add(AdverseEventReport(MRN, "ptosis", DAY - timedelta(days=20), "mild", 1, serious=False))
    monkeypatch.setattr(bootstrap, "adverse_events", lambda: FakeAdverseEvents(state))
    monkeypatch.setattr(bootstrap, "patient_registry", lambda: FakePatientRegistry(state))
    monkeypatch.setattr(bootstrap, "access_log", FakeAccessLog)  # the chart's read, logged
    monkeypatch.setattr(records, "clock", lambda: FixedClock(datetime(2026, 11, 21, 12)))
    return state


def test_an_adverse_event_is_corrected_field_by_field_and_refusals_name_the_option(events: FakeRegistry) -> None:
    serious_severity = RUNNER.invoke(app, ["adverse-event", "update", "1", "--severity", "serious"])
    assert serious_severity.exit_code == 2
    assert "--severity: is the intensity (mild, moderate or severe)" in serious_severity.output
    before_session = RUNNER.invoke(app, ["adverse-event", "update", "1", "--onset", "2026-10-01"])
    assert (before_session.exit_code, "--onset: is before the suspected session" in before_session.output) == (2, True)
    nothing = RUNNER.invoke(app, ["adverse-event", "update", "1"])
    assert (nothing.exit_code, "--term: give at least one field to correct" in nothing.output) == (2, True)
    corrected = RUNNER.invoke(
        app,
        ["adverse-event", "update", "1", "--term", "diplopia", "--severity", "moderate", "--serious", "--json"],
    )
    assert corrected.exit_code == 0, corrected.output
    document = json.loads(corrected.stdout)
    assert (document["event"], document["severity"], document["serious"]) == ("diplopia", "moderate", True)
    [(_, report)] = events.events
    assert (report.event, report.severity, report.serious, report.outcome) == ("diplopia", "moderate", True, "")


def test_an_adverse_event_is_withdrawn_and_shown_withdrawn(events: FakeRegistry) -> None:
    no_reason = RUNNER.invoke(app, ["adverse-event", "withdraw", "1", "--reason", ""])
    assert (no_reason.exit_code, "--reason:" in no_reason.output) == (2, True)
    withdrawn = RUNNER.invoke(app, ["adverse-event", "withdraw", "1", "--reason", "another patient's event"])
    assert withdrawn.exit_code == 0, withdrawn.output
    shown = RUNNER.invoke(app, ["patient", "show", MRN, "--json"])
    [event] = json.loads(shown.stdout)["adverse_events"]
    assert (event["id"], event["withdrawn"]) == (1, True)
    corrected = RUNNER.invoke(app, ["adverse-event", "update", "1", "--severity", "severe"])
    assert (corrected.exit_code, "ID: this adverse event is withdrawn" in corrected.output) == (2, True)
    unknown = RUNNER.invoke(app, ["adverse-event", "withdraw", "42", "--reason", "entered in error"])
    assert (unknown.exit_code, "ID: no adverse event with this id" in unknown.output) == (2, True)
