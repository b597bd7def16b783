"""A patient's earlier adverse events reach every check of a stored patient (the plan builder, ``bont patient
check``, the record preview and the recording transaction), warn without moving the next session's dates,
and are read from the check document with errors that name the field. The ``bont adverse-event`` command
keeps severity and seriousness apart."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bont.cli.app import app
from bont.domain.adverse_events import EventSeverity, ReactionKind
from bont.domain.errors import PlanningError
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import PlanRequest
from bont.domain.safety import Administration, CheckRequest, Patient, PriorAdverseEvent, SessionPlan, SessionSite, check
from bont.interop.check_document import InputError, read_check
from bont.services.clock import FixedClock, SystemClock
from bont.services.patient_check import check_for_patient, next_for_patient, plan_for_patient
from bont.services.records import RecordingError, RecordSession, preview_session, record_session
from tests.fakes import (
    FakeAccessLog,
    FakeAdverseEvents,
    FakeClinic,
    FakeClinicalRecords,
    FakePatientCharts,
    FakePatientRegistry,
    FakeRegistry,
)

MRN = "FICT-AE1"
DAY = date(2026, 11, 21)
ADULT = Patient(birth_date=date(1968, 5, 20), sex="female", weight_kg=Decimal(70))
OAB = Administration(date(2026, 8, 29), "onabotulinumtoxinA", "overactive-bladder", Decimal(100))
RETENTION = PriorAdverseEvent(
    date(2026, 9, 8), "urinary retention", EventSeverity.SEVERE, True, "onabotulinumtoxinA", "overactive-bladder"
)
BLADDER_SITES = (SessionSite("detrusor", "midline", Decimal(100)),)
RUNNER = CliRunner()


def clinic_with(*events: PriorAdverseEvent) -> tuple[FakeClinic, int]:
    clinic = FakeClinic(clinicians={"dr-fictional"})
    patient_id = clinic.add_patient(MRN, ADULT, (OAB,))
    for event in events:
        clinic.add_adverse_event(patient_id, event)
    return clinic, patient_id


def prior(findings: Any) -> list[tuple[str, str]]:
    return [(str(f.severity), f.message) for f in findings if f.code == "prior-adverse-event"]


def test_a_stored_reaction_reaches_the_plan_builder_and_the_patient_check(knowledge: KnowledgeBase) -> None:
    clinic, _ = clinic_with(RETENTION)
    charts = FakePatientCharts(clinic)
    checked = plan_for_patient(charts, knowledge, MRN, PlanRequest("overactive-bladder", "BOTOX", DAY))
    report = check_for_patient(charts, knowledge, MRN, DAY, SessionPlan("BOTOX", "overactive-bladder", Decimal(100)))
    expected = [
        (
            "warn",
            "Urinary retention on 2026-09-08 after BOTOX for overactive bladder (severe, serious): a local "
            "reaction that may recur, because this session is an intradetrusor injection",
        )
    ]
    assert prior(checked.report.findings) == prior(report.findings) == expected
    assert str(report.verdict) == "warn"  # serious, and still a warning: no label makes it a contraindication


def test_the_recording_transaction_asks_for_the_reaction_to_be_acknowledged(knowledge: KnowledgeBase) -> None:
    clinic, patient_id = clinic_with(RETENTION)
    records = FakeClinicalRecords(clinic)
    command = RecordSession(patient_id, DAY, "dr-fictional", "overactive-bladder", "BOTOX", BLADDER_SITES)
    assert [f.code for f in preview_session(records, knowledge, command).findings if f.severity is Severity.WARN] == [
        "prior-adverse-event"
    ]
    with pytest.raises(RecordingError) as refused:
        record_session(records, knowledge, command)
    assert (refused.value.field, refused.value.problem) == (
        "acknowledgements",
        "acknowledge each warning with a reason: prior-adverse-event",
    )
    assert clinic.sessions == []
    acknowledged = RecordSession(
        **{**command.__dict__, "acknowledgements": (("prior-adverse-event", "retention resolved; PVR checked"),)}
    )
    record_session(records, knowledge, acknowledged)
    (written,) = clinic.sessions
    assert written.acknowledgements == {"prior-adverse-event": "retention resolved; PVR checked"}
    assert [f.code for f in written.findings] == ["prior-adverse-event"]


def test_an_event_after_the_day_checked_is_not_counted(knowledge: KnowledgeBase) -> None:
    later = PriorAdverseEvent(date(2026, 12, 1), "dysphagia", EventSeverity.MILD, False)
    clinic, _ = clinic_with(later)
    report = check_for_patient(
        FakePatientCharts(clinic), knowledge, MRN, DAY, SessionPlan("BOTOX", "chronic-migraine", Decimal(155))
    )
    assert prior(report.findings) == []
    with pytest.raises(PlanningError) as refused:
        check(
            knowledge,
            CheckRequest(DAY, ADULT, SessionPlan("BOTOX", "chronic-migraine", Decimal(155)), (), (), None, (later,)),
        )
    assert (refused.value.field, refused.value.problem) == ("adverse_events.0.date", "is after the session date")


def test_prior_reactions_warn_but_move_neither_next_date(knowledge: KnowledgeBase) -> None:
    dysphagia = PriorAdverseEvent(
        date(2026, 9, 1), "difficulty swallowing", EventSeverity.SEVERE, True, "BOTOX", "overactive-bladder"
    )
    without, _ = clinic_with()
    with_events, _ = clinic_with(RETENTION, dysphagia)
    today = date(2026, 10, 1)
    before = next_for_patient(FakePatientCharts(without), knowledge, MRN, today)
    after = next_for_patient(FakePatientCharts(with_events), knowledge, MRN, today)
    assert after == before
    assert [(n.earliest, n.recommended) for n in after] == [(date(2026, 11, 21), date(2026, 11, 21))]


def test_every_term_is_cited_with_its_kind_and_synonyms_find_it(knowledge: KnowledgeBase) -> None:
    terms = knowledge.adverse_event_terms
    assert {"dysphagia", "breathing-difficulty", "generalised-weakness", "ptosis", "urinary-retention"} <= set(terms)
    for text, wanted in (
        ("Difficulty swallowing", "dysphagia"),
        ("dyspnea", "breathing-difficulty"),
        ("dyspnoea", "breathing-difficulty"),
        ("respiratory compromise", "breathing-difficulty"),
        ("generalized muscle weakness", "generalised-weakness"),
        ("eyelid drooping", "ptosis"),
        ("urinary-retention", "urinary-retention"),
    ):
        found = knowledge.find_adverse_event_term(text)
        assert found is not None, text
        assert found.id == wanted, text
    for term in terms.values():
        assert term.citation.source.id in knowledge.sources
        assert all(concern.citation.source.id in knowledge.sources for concern in term.concerns)
        assert term.kind is ReactionKind.DISTANT_SPREAD or term.concerns, term.id
    assert knowledge.seriousness is not None
    assert "is life-threatening" in knowledge.seriousness.criteria


CHECK: dict[str, Any] = {
    "date": "2026-11-21",
    "patient": {"birth_date": "1968-05-20", "sex": "female", "weight_kg": 70},
    "plan": {"product": "BOTOX", "indication": "chronic-migraine", "total_units": 155},
}
EVENT: dict[str, Any] = {
    "date": "2026-09-08",
    "product": "BOTOX",
    "indication": "overactive-bladder",
    "term": "urinary retention",
    "severity": "severe",
    "serious": True,
}


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({**EVENT, "date": "08/09/2026"}, "adverse_events.0.date"),
        ({**EVENT, "severity": "serious"}, "adverse_events.0.severity"),
        ({key: value for key, value in EVENT.items() if key != "serious"}, "adverse_events.0.serious"),
        ({**EVENT, "term": ""}, "adverse_events.0.term"),
        ({**EVENT, "seriousness": "yes"}, "adverse_events.0.seriousness"),
    ],
)
def test_an_invalid_adverse_event_is_refused_naming_its_field(event: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as refused:
        read_check(json.dumps({**CHECK, "adverse_events": [event]}), SystemClock("UTC"))
    assert refused.value.field == field
    assert "urinary" not in str(refused.value)  # patient values are never echoed


def test_the_check_document_resolves_brand_names_of_an_adverse_event(knowledge: KnowledgeBase) -> None:
    request = read_check(json.dumps({**CHECK, "adverse_events": [EVENT]}), SystemClock("UTC"))
    assert request.adverse_events == (
        PriorAdverseEvent(
            date(2026, 9, 8), "urinary retention", EventSeverity.SEVERE, True, "BOTOX", "overactive-bladder"
        ),
    )
    report = check(knowledge, request)
    assert prior(report.findings) == [
        (
            "info",
            "Urinary retention on 2026-09-08 after BOTOX for overactive bladder (severe, serious): a local reaction "
            "to intradetrusor injection; not relevant to this session",
        )
    ]


def test_bont_plan_with_a_patient_file_reads_its_adverse_events(tmp_path: Path) -> None:
    file = tmp_path / "patient.json"
    dysphagia = {**EVENT, "term": "dysphagia", "indication": "cervical-dystonia", "severity": "moderate"}
    file.write_text(json.dumps({"patient": CHECK["patient"], "adverse_events": [dysphagia]}), encoding="utf-8")
    args = ["plan", "--indication", "chronic-migraine", "--product", "BOTOX", "--date", "2026-11-21"]
    result = RUNNER.invoke(app, [*args, "--patient", str(file), "--json"])
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)["findings"]
    assert [f["message"] for f in findings if f["code"] == "prior-adverse-event"] == [
        "Dysphagia on 2026-09-08 after BOTOX for cervical dystonia (moderate, serious): a sign of distant spread of "
        "toxin effect, which may recur after any botulinum toxin"
    ]


# -- the bont adverse-event command, in process, on the fakes


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> FakeRegistry:
    from bont import bootstrap
    from bont.cli import records
    from bont.services.patients import NewPatient

    state = FakeRegistry()
    FakePatientRegistry(state).add(
        NewPatient(MRN, "Fictional", "Unit", date(1968, 5, 20), "female", Decimal(70)), date(2026, 1, 5)
    )
    monkeypatch.setattr(bootstrap, "adverse_events", lambda: FakeAdverseEvents(state))
    monkeypatch.setattr(bootstrap, "patient_registry", lambda: FakePatientRegistry(state))
    monkeypatch.setattr(bootstrap, "access_log", FakeAccessLog)  # the chart's read, logged
    monkeypatch.setattr(records, "clock", lambda: FixedClock(datetime(2026, 11, 21, 12)))
    return state


def add_event(*options: str) -> Any:
    base = ["adverse-event", "add", "--mrn", MRN, "--event", "dysphagia", "--onset", "2026-09-08"]
    return RUNNER.invoke(app, [*base, *options])


def test_the_adverse_event_command_needs_to_be_told_whether_the_event_was_serious(registry: FakeRegistry) -> None:
    missing = add_event("--severity", "severe")
    assert missing.exit_code == 2
    assert "--serious" in missing.output
    as_severity = add_event("--severity", "serious", "--not-serious")
    assert as_severity.exit_code == 2
    assert "--severity: is the intensity (mild, moderate or severe)" in as_severity.output
    assert registry.events == []
    recorded = add_event("--severity", "moderate", "--serious")
    assert recorded.exit_code == 0, recorded.output
    [(_, report)] = registry.events
    assert (report.severity, report.serious) == ("moderate", True)
    shown = RUNNER.invoke(app, ["patient", "show", MRN, "--json"])
    assert shown.exit_code == 0, shown.output
    [event] = json.loads(shown.stdout)["adverse_events"]
    assert (event["severity"], event["serious"]) == ("moderate", True)


def test_field_errors_of_the_adverse_event_command_name_the_option(registry: FakeRegistry) -> None:
    result = add_event("--severity", "grave", "--not-serious")
    assert result.exit_code == 2
    assert "--severity: must be one of mild, moderate, severe" in result.output
    assert registry.events == []
