"""One plan, one answer: the same plan goes through every entry point that judges a plan — the planner's
check (``bont plan``, the web builder, ``/api/plan``), ``bont plan --patient``, ``bont check`` of the same
sites, ``bont patient check`` (and ``/api/check``) against the stored record, the record preview and the
recording transaction — and every one gives the same verdict and the same findings, each finding once."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bont.cli.app import app
from bont.domain.errors import FieldError
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import MuscleChoice, PlanRequest, SideChoice
from bont.domain.safety import Administration, Patient, SessionPlan, SessionSite
from bont.services.patient_check import check_for_patient, plan_for_patient
from bont.services.planning import CheckedPlan, plan_session
from bont.services.records import RecordingError, RecordSession, preview_session, record_session
from tests.fakes import FakeClinic, FakeClinicalRecords, FakePatientCharts

Answer = tuple[str, list[tuple[str, str, str]]]  # verdict, [(severity, code, message)]
RUNNER = CliRunner()
MRN = "FICT-0001"


@dataclass(frozen=True)
class Case:
    name: str
    patient: Patient
    history: tuple[Administration, ...]
    request: PlanRequest
    verdict: str
    blocking: tuple[str, ...]  # the blocking codes, each once


def child(weight: str) -> Patient:
    return Patient(birth_date=date(2018, 3, 1), sex="male", weight_kg=Decimal(weight))


ADULT = Patient(birth_date=date(1970, 1, 1), sex="female", weight_kg=Decimal(70))
DAY = date(2026, 11, 29)
CASES = (
    Case(
        "dysport-child-both-legs-within-30-u-per-kg",
        child("20"),
        (),
        PlanRequest(
            "lower-limb-spasticity",
            "DYSPORT",
            DAY,
            variant="bilateral",
            muscles=(MuscleChoice("gastrocnemius-medial", units=Decimal(400), sites=4),),
        ),
        "ok",
        (),
    ),
    Case(
        "dysport-child-both-legs-above-30-u-per-kg",
        child("20"),
        (),
        PlanRequest(
            "lower-limb-spasticity",
            "DYSPORT",
            DAY,
            variant="bilateral",
            muscles=(MuscleChoice("gastrocnemius-medial", units=Decimal(700), sites=8),),
        ),
        "block",
        ("weight-based-dose-exceeds-maximum",),
    ),
    Case(
        "botox-upper-limb-inside-the-3-month-window",
        ADULT,
        (Administration(date(2026, 10, 25), "onabotulinumtoxinA", "upper-limb-spasticity", Decimal(230)),),
        PlanRequest(
            "upper-limb-spasticity",
            "BOTOX",
            DAY,
            side=SideChoice.LEFT,
            muscles=(
                MuscleChoice("biceps-brachii", units=Decimal(200), sites=4),
                MuscleChoice("flexor-carpi-radialis", units=Decimal(30), sites=1),
            ),
        ),
        "block",
        # The 400 U in 3 months limit blocks; "generally, no sooner than 12 weeks" is a recommendation and warns.
        ("cumulative-dose-exceeds-maximum",),
    ),
    Case(
        "chronic-migraine-with-an-aminoglycoside",
        Patient(birth_date=date(1985, 5, 5), sex="female", weight_kg=Decimal(60), medications=("gentamicin",)),
        (),
        PlanRequest("chronic-migraine", "BOTOX", DAY),
        "warn",
        (),
    ),
)


def key(severity: str, code: str, message: str) -> tuple[str, str, str]:
    return (str(severity), code, message)


def from_report(checked: Any) -> Answer:
    return str(checked.verdict), [key(f.severity, f.code, f.message) for f in checked.findings]


def from_document(document: dict[str, Any]) -> Answer:
    return document["verdict"], [key(f["severity"], f["code"], f["message"]) for f in document["findings"]]


def patient_document(patient: Patient) -> dict[str, Any]:
    return {
        "birth_date": patient.birth_date.isoformat() if patient.birth_date else None,
        "sex": patient.sex,
        "weight_kg": str(patient.weight_kg),
        "medications": list(patient.medications),
    }


def history_document(history: tuple[Administration, ...]) -> list[dict[str, Any]]:
    return [
        {"date": h.on.isoformat(), "product": h.product, "indication": h.indication, "units": str(h.units)}
        for h in history
    ]


def planned(knowledge: KnowledgeBase, case: Case) -> CheckedPlan:
    """The plan as the web builder and /api/plan make it: with the patient's age and weight."""
    clinic = FakeClinic()
    clinic.add_patient(MRN, case.patient, case.history)
    return plan_for_patient(FakePatientCharts(clinic), knowledge, MRN, case.request)


def cli(args: list[str]) -> dict[str, Any]:
    result = RUNNER.invoke(app, args)
    assert result.exit_code in (0, 3), result.output
    return dict(json.loads(result.stdout))


def via_plan_command(knowledge: KnowledgeBase, case: Case, folder: Path) -> Answer:
    file = folder / "patient.json"
    file.write_text(
        json.dumps({"patient": patient_document(case.patient), "history": history_document(case.history)}),
        encoding="utf-8",
    )
    request = case.request
    args = ["plan", "--indication", request.indication, "--product", request.product, "--date", DAY.isoformat()]
    args += ["--patient", str(file), "--json"]
    if request.variant:
        args += ["--variant", request.variant]
    if request.side:
        args += ["--side", request.side.value]
    for choice in request.muscles:
        args += ["--muscle", f"{choice.muscle}={choice.units}/{choice.sites}"]
    return from_document(cli(args))


def check_document(knowledge: KnowledgeBase, case: Case) -> str:
    """The check document of the planned sites, as a program sends it to bont check or /api/check."""
    plan = planned(knowledge, case).plan
    document = {
        "date": DAY.isoformat(),
        "patient": patient_document(case.patient),
        "history": history_document(case.history),
        "plan": {
            "product": plan.product,
            "indication": plan.indication,
            "variant": plan.protocol.variant,
            "sites": [
                {"muscle": s.muscle, "side": s.side.value, "units": str(s.units.amount), "volume_ml": str(s.volume_ml)}
                for s in plan.sites
            ],
        },
    }
    return json.dumps(document)


def via_check_command(knowledge: KnowledgeBase, case: Case, folder: Path) -> Answer:
    file = folder / "check.json"
    file.write_text(check_document(knowledge, case), encoding="utf-8")
    return from_document(cli(["check", str(file), "--json"]))


def sites_of(checked: CheckedPlan) -> tuple[SessionSite, ...]:
    return tuple(SessionSite(s.muscle, s.side.value, s.units.amount, s.volume_ml) for s in checked.plan.sites)


def via_patient_check(knowledge: KnowledgeBase, case: Case, folder: Path) -> Answer:
    checked = planned(knowledge, case)
    clinic = FakeClinic()
    clinic.add_patient(MRN, case.patient, case.history)
    plan = SessionPlan(
        checked.plan.product, checked.plan.indication, sites=sites_of(checked), variant=checked.plan.protocol.variant
    )
    return from_report(check_for_patient(FakePatientCharts(clinic), knowledge, MRN, DAY, plan))


def command(knowledge: KnowledgeBase, case: Case) -> tuple[FakeClinic, RecordSession]:
    checked = planned(knowledge, case)
    clinic = FakeClinic(clinicians={"dr-fictional"})
    patient_id = clinic.add_patient(MRN, case.patient, case.history)
    return clinic, RecordSession(
        patient_id=patient_id,
        on=DAY,
        clinician="dr-fictional",
        indication=case.request.indication,
        product=case.request.product,
        sites=sites_of(checked),
        variant=checked.plan.protocol.variant,
    )


def via_record_preview(knowledge: KnowledgeBase, case: Case, folder: Path) -> Answer:
    clinic, session = command(knowledge, case)
    return from_report(preview_session(FakeClinicalRecords(clinic), knowledge, session))


def via_recording(knowledge: KnowledgeBase, case: Case, folder: Path) -> Answer:
    """The recording transaction: what it refuses with, or the findings it writes with the session."""
    clinic, session = command(knowledge, case)
    records = FakeClinicalRecords(clinic)
    preview = preview_session(records, knowledge, session)
    warnings = {f.code for f in preview.findings if f.severity is Severity.WARN}
    acknowledged = RecordSession(
        **{
            **session.__dict__,
            "acknowledgements": tuple((code, "seen and discussed") for code in sorted(warnings)),
            "override_reason": "clinician's override for the test" if str(preview.verdict) == "block" else "",
        }
    )
    record_session(records, knowledge, acknowledged)
    (written,) = clinic.sessions
    return written.verdict, [key(f.severity, f.code, f.message) for f in written.findings]


def via_planner(knowledge: KnowledgeBase, case: Case, folder: Path) -> Answer:
    return from_report(planned(knowledge, case).report)


ENTRY_POINTS: dict[str, Callable[[KnowledgeBase, Case, Path], Answer]] = {
    "bont plan --patient": via_plan_command,
    "bont check": via_check_command,
    "bont patient check": via_patient_check,
    "record preview": via_record_preview,
    "recording": via_recording,
}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_entry_point_gives_the_same_verdict_and_findings(
    knowledge: KnowledgeBase, case: Case, tmp_path: Path
) -> None:
    expected = via_planner(knowledge, case, tmp_path)
    assert expected[0] == case.verdict, expected
    blocking = [code for severity, code, _ in expected[1] if severity == "block"]
    assert sorted(blocking) == sorted(case.blocking), expected
    assert len(set(expected[1])) == len(expected[1]), "a finding is reported twice"
    for name, entry_point in ENTRY_POINTS.items():
        assert entry_point(knowledge, case, tmp_path) == expected, name


def test_a_one_leg_protocol_with_sites_on_both_legs_is_refused_everywhere(knowledge: KnowledgeBase) -> None:
    both_legs = PlanRequest(
        "lower-limb-spasticity",
        "DYSPORT",
        DAY,
        variant="unilateral",
        age_years=Decimal(8),
        weight_kg=Decimal(20),
        side=SideChoice.BOTH,
        muscles=(MuscleChoice("gastrocnemius-medial", units=Decimal(200), sites=2),),
    )
    with pytest.raises(FieldError) as planner:
        plan_session(knowledge, both_legs)
    assert planner.value.field == "variant"
    clinic = FakeClinic()
    clinic.add_patient(MRN, child("20"))
    sites = tuple(
        SessionSite("gastrocnemius-medial", side, Decimal(100)) for side in ("left", "right", "left", "right")
    )
    with pytest.raises(FieldError) as checked:
        check_for_patient(
            FakePatientCharts(clinic),
            knowledge,
            MRN,
            DAY,
            SessionPlan("abobotulinumtoxinA", "lower-limb-spasticity", sites=sites, variant="unilateral"),
        )
    assert checked.value.field == "plan.variant"
    session = RecordSession(1, DAY, "dr", "lower-limb-spasticity", "DYSPORT", sites, variant="unilateral")
    with pytest.raises(FieldError) as previewed:
        preview_session(FakeClinicalRecords(clinic), knowledge, session)
    assert previewed.value.field == "plan.variant"
    with pytest.raises(FieldError):
        record_session(FakeClinicalRecords(clinic), knowledge, session)
    assert not clinic.sessions


def test_a_refused_recording_writes_nothing(knowledge: KnowledgeBase) -> None:
    clinic, session = command(knowledge, CASES[2])
    with pytest.raises(RecordingError) as refused:
        record_session(FakeClinicalRecords(clinic), knowledge, session)
    assert refused.value.field == "override_reason"
    assert "460 U" in refused.value.problem
    assert not clinic.sessions
