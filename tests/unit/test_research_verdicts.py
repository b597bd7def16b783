"""The research page counts stored latest verdicts, and shows none that were judged with other knowledge."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from bont.domain.knowledge import KnowledgeBase
from bont.domain.research.disclosure import MinimumCell
from bont.services.outcome_ports import GivenSession
from bont.services.outcomes import record_outcome
from bont.services.research import published_registry, registry, verdict_basis
from tests.fakes import FakeOutcomeClinic, FakeOutcomeRecords

TODAY = date(2026, 11, 29)
FIRST, SECOND = date(2026, 1, 5), date(2026, 5, 4)
HYPERHIDROSIS, BOTOX = "axillary-hyperhidrosis", "onabotulinumtoxinA"


def _judged_clinic(knowledge: KnowledgeBase) -> tuple[FakeOutcomeClinic, FakeOutcomeRecords]:
    clinic = FakeOutcomeClinic()
    records = FakeOutcomeRecords(clinic, knowledge)
    for number in range(6):
        mrn = f"FICT-{number}"
        patient_id = clinic.add_patient(mrn, date(1980, 4, 2))
        for day in (FIRST, SECOND):
            clinic.add_session(patient_id, GivenSession(day, HYPERHIDROSIS, BOTOX, Decimal(100), "ok"))
        for on, grade in ((FIRST, "4"), (FIRST + timedelta(days=42), "2")):
            record_outcome(records, knowledge, mrn, HYPERHIDROSIS, "hdss", on, grade, None, TODAY)
    return clinic, records


def test_verdicts_judged_with_other_knowledge_give_no_rate_until_judged_again(knowledge: KnowledgeBase) -> None:
    clinic, records = _judged_clinic(knowledge)
    judged = published_registry(records, knowledge, MinimumCell(5))
    assert [str(r.responders) for r in judged.responders] == ["6"]
    clinic.verdict_basis = "judged with other knowledge files"
    outdated = published_registry(records, knowledge, MinimumCell(5))
    assert (outdated.responders_outdated, outdated.responders) == (True, ())
    assert outdated.treatments == judged.treatments  # counted from the sessions, whatever judged the verdicts
    clinic.verdict_basis = ""  # being judged again
    assert registry(records, knowledge).responders_outdated


def test_the_verdict_basis_changes_with_a_responder_threshold_and_with_nothing_else_read_again(
    knowledge: KnowledgeBase,
) -> None:
    definition = knowledge.responder_definitions[0]
    stricter = replace(definition, threshold=(definition.threshold or Decimal(0)) + 1)
    changed = replace(knowledge, responder_definitions=(stricter, *knowledge.responder_definitions[1:]))
    assert verdict_basis(changed) != verdict_basis(knowledge)
    assert verdict_basis(replace(knowledge)) == verdict_basis(knowledge)
