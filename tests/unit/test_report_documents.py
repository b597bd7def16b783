"""The documents a clinic prints and a payer receives: the continuation report assembled over the stored
per-cycle measurements (on in-memory fakes of its ports), its PDF, and the procedure sheet's header and banner."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest

from bont.domain.knowledge import KnowledgeBase
from bont.domain.outcomes import ContinuationAdvice, Score
from bont.domain.planning import PlanRequest
from bont.domain.safety import Administration, Patient
from bont.interop.continuation_pdf import render_continuation_pdf
from bont.interop.procedure_sheet import render_procedure_sheet
from bont.services.documents import plan_document
from bont.services.outcome_ports import GivenSession, StoredOutcome
from bont.services.patients import NewPatient, SessionEntry
from bont.services.planning import plan_session
from bont.services.report_documents import (
    NO_CODED_DIAGNOSIS,
    ContinuationDocument,
    continuation_pdf_values,
    continuation_report_document,
    procedure_sheet_header,
    sheet_header_document,
)
from bont.services.sessions import PatientRef
from tests.fakes import (
    FakeOutcomeClinic,
    FakeOutcomeRecords,
    FakePatientRegistry,
    FakeRegistry,
    FakeUserAccounts,
)
from tests.pdf_text import pdf_text

MIGRAINE, BOTOX = "chronic-migraine", "onabotulinumtoxinA"
FIRST = date(2025, 1, 6)
SESSIONS = [FIRST + timedelta(days=91 * n) for n in range(7)]
TODAY = SESSIONS[-1] + timedelta(days=70)
BORN = date(1979, 4, 2)
NPI = "1234567893"  # a fictional NPI with a valid check digit


class Clinic:
    """One fictional chronic-migraine patient in the outcome records, the registry and the user accounts."""

    def __init__(self, conditions: tuple[str, ...], headache_days: list[str]) -> None:
        self.outcomes = FakeOutcomeClinic()
        self.registry = FakeRegistry()
        patient_id = self.outcomes.add_patient("FICT-1", BORN, "Fictional", "Patient")
        FakePatientRegistry(self.registry).add(
            NewPatient("FICT-1", "Fictional", "Patient", BORN, conditions=conditions), FIRST
        )
        self.accounts = FakeUserAccounts(self.registry)
        self.accounts.add("dr-fictional", "clinician", None)
        self.accounts.set_npi("dr-fictional", NPI)
        for number, day in enumerate(SESSIONS, 1):
            self.outcomes.add_session(patient_id, GivenSession(day, MIGRAINE, BOTOX, Decimal(155), "ok"))
            self.registry.sessions["FICT-1"].append(
                SessionEntry(
                    number, day, BOTOX, MIGRAINE, Decimal(155), "ok", "", "", blocked=False, recorded_by="dr-fictional"
                )
            )
        # A 28-day diary summarised before each session and over the latest 28 days, as bont keeps them.
        for end, value in zip([*SESSIONS, TODAY - timedelta(days=1)], headache_days, strict=True):
            score = Score("headache-days", Decimal(value))
            self.outcomes.outcomes.setdefault(patient_id, []).append(
                StoredOutcome(MIGRAINE, "headache-days", end, end - timedelta(days=27), score)
            )

    def report(self, knowledge: KnowledgeBase) -> ContinuationDocument:
        return continuation_report_document(
            FakeOutcomeRecords(self.outcomes),
            FakePatientRegistry(self.registry),
            self.accounts,
            knowledge,
            "FICT-1",
            MIGRAINE,
            TODAY,
        )


@pytest.fixture
def episodic() -> Clinic:
    """Twenty months below 15 headache days per 28 days after a baseline of 19."""
    return Clinic(("G43.709",), ["19", *["7"] * 7])


def test_twenty_months_below_15_headache_days_advises_stopping_with_the_numbers_of_each_cycle(
    knowledge: KnowledgeBase, episodic: Clinic
) -> None:
    document = episodic.report(knowledge)
    assert document.advice is ContinuationAdvice.STOP
    (headache_days,) = [m for m in document.measures if m.measure.instrument.id == "headache-days"]
    decisions = {d.rule.id: d for d in headache_days.measure.continuation}
    assert decisions["nice-ta260-two-cycles"].advice is ContinuationAdvice.CONTINUE
    assert decisions["nice-ta260-episodic"].advice is ContinuationAdvice.STOP
    assert "cycles 1 to 7" in decisions["nice-ta260-episodic"].reason
    rows = headache_days.rows
    assert [row.cycle for row in rows] == list(range(8))
    assert rows[0].session is None
    assert [m.measurement.score.value for m in rows[0].measurements] == [Decimal(19)]
    assert rows[3].session == SESSIONS[2]
    assert rows[3].doses == ("155 U BOTOX",)
    assert [m.change for m in rows[3].measurements] == ["-12 (63.1% better)"]


def test_the_report_names_the_patients_icd10_code_and_the_prescriber_with_npi(
    knowledge: KnowledgeBase, episodic: Clinic
) -> None:
    document = episodic.report(knowledge)
    assert [d.code for d in document.diagnoses] == ["G43.709"]
    assert document.diagnosis_text.startswith("G43.709 Chronic migraine")
    assert document.prescriber is not None
    assert document.prescriber.label == f"dr-fictional, NPI {NPI}"


def test_a_chart_without_a_code_under_the_indication_says_no_coded_diagnosis(knowledge: KnowledgeBase) -> None:
    document = Clinic(("G24.3",), ["19", *["7"] * 7]).report(knowledge)
    assert document.diagnoses == ()
    assert document.diagnosis_text == NO_CODED_DIAGNOSIS


def test_the_pdf_has_the_advice_the_code_the_prescriber_the_cycles_and_a_signature_line(
    knowledge: KnowledgeBase, episodic: Clinic
) -> None:
    pdf = render_continuation_pdf(continuation_pdf_values(episodic.report(knowledge)))
    text = pdf_text(pdf)
    assert "A stopping rule is met" in text
    assert "G43.709" in text
    assert f"NPI {NPI}" in text
    assert "Signature of the prescriber" in text
    assert "Date" in text
    assert "-12 (63.1% better)" in text
    assert "FICT-1" in text  # an identified document, for the payer


# -- the procedure sheet


def migraine_plan(knowledge: KnowledgeBase, history: tuple[Administration, ...] = ()) -> dict[str, object]:
    request = PlanRequest(MIGRAINE, BOTOX, TODAY, age_years=Decimal(46))
    patient = Patient(birth_date=BORN, conditions=("G43.709",))
    return plan_document(plan_session(knowledge, request, patient, history), knowledge)


def test_a_sheet_without_a_patient_prints_labelled_lines_and_says_no_patient_is_selected(
    knowledge: KnowledgeBase,
) -> None:
    plan = migraine_plan(knowledge)
    header = procedure_sheet_header(knowledge, FakeUserAccounts(FakeRegistry()), MIGRAINE, None, (), None)
    html = render_procedure_sheet(plan, sheet_header_document(header))
    assert "No patient selected" in html
    assert "<span>Patient name</span></div>" in html
    assert html.count('class="box"') == 31
    assert "BLOCKED" not in html


def test_a_sheet_for_a_patient_names_them_with_the_diagnosis_and_the_clinician(knowledge: KnowledgeBase) -> None:
    registry = FakeRegistry()
    accounts = FakeUserAccounts(registry)
    accounts.add("dr-fictional", "clinician", None)
    accounts.set_npi("dr-fictional", NPI)
    patient = PatientRef(1, "FICT-1", "Fictional", "Patient", BORN)
    header = procedure_sheet_header(knowledge, accounts, MIGRAINE, patient, ("G43.709",), "dr-fictional")
    html = render_procedure_sheet(migraine_plan(knowledge), sheet_header_document(header), "<svg class='bodymap'/>")
    assert "<b>Patient, Fictional</b>" in html
    assert "<b>FICT-1</b>" in html
    assert f"<b>{BORN.isoformat()}</b>" in html
    assert "G43.709 Chronic migraine" in html
    assert f"dr-fictional, NPI {NPI}" in html
    assert "<svg class='bodymap'/>" in html
    assert "No patient selected" not in html


def test_a_blocked_plan_carries_a_banner_with_the_blocking_findings(knowledge: KnowledgeBase) -> None:
    # 300 U for spasticity four weeks ago and 155 U now: more than the label's 400 U in 3 months.
    spasticity = (Administration(TODAY - timedelta(weeks=4), BOTOX, "upper-limb-spasticity", Decimal(300)),)
    plan = migraine_plan(knowledge, spasticity)
    assert plan["verdict"] == "block"
    html = render_procedure_sheet(plan)
    banner = unescape(html.split('<section class="blocked" role="alert">', 1)[1].split("</section>", 1)[0])
    assert "<strong>BLOCKED</strong>" in banner
    assert "Not for administration until a clinician's written override" in banner
    blocking = [f["message"] for f in plan["findings"] if f["severity"] == "block"]  # type: ignore[attr-defined]
    assert blocking
    assert all(message in banner for message in blocking)


def test_a_sheet_for_a_bladder_plan_prints_the_labels_preparation_steps(knowledge: KnowledgeBase) -> None:
    request = PlanRequest("neurogenic-detrusor-overactivity", BOTOX, TODAY, age_years=Decimal(46))
    html = unescape(render_procedure_sheet(plan_document(plan_session(knowledge, request), knowledge)))
    steps = html.split("<h2>Preparation</h2>", 1)[1].split("</ol>", 1)[0]
    assert "the 200 U vial with <strong>6 mL</strong> in the vial" in steps
    assert "<strong>2 mL</strong> into each of <strong>3</strong> syringe(s) of 10 mL" in steps
    assert "add <strong>8 mL</strong> of saline" in steps
    assert "30 injections of 1 mL, about 6.67 U each" in steps
    assert "3 syringe(s) of 10 mL" in html
