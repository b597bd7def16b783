"""The follow-up list a page at a time, run on the in-memory fake of its port: the assessments most overdue
first, the next sessions of a page of treated patients by name, and the same next-session answer as the chart."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bont.bootstrap import build_knowledge
from bont.domain.safety import Administration, Patient
from bont.services.follow_up import ASSESSMENT, MAXIMUM_PER_PAGE, follow_up_document, follow_up_page
from bont.services.next_session import next_sessions, sessions_allowed_today
from bont.services.outcome_ports import GivenSession
from tests.fakes import FakeClinic, FakeFollowUpRecords, FakeOutcomeClinic

KNOWLEDGE = build_knowledge()
TODAY = date(2026, 11, 29)
BORN = date(1975, 3, 4)
BOTOX, MIGRAINE, SPASTICITY = "onabotulinumtoxinA", "chronic-migraine", "upper-limb-spasticity"


def clinic_of(days_ago: list[int]) -> FakeFollowUpRecords:
    """One fictional patient per entry, treated for upper limb spasticity (a label interval that blocks) that many
    days ago, named so that the name order is the reverse of the list's."""
    outcomes, charts = FakeOutcomeClinic(), FakeClinic()
    for n, ago in enumerate(days_ago):
        mrn, on = f"FICT-F{n}", TODAY - timedelta(days=ago)
        patient_id = outcomes.add_patient(mrn, BORN, family_name=f"Fictional-{len(days_ago) - n:02d}")
        outcomes.add_session(patient_id, GivenSession(on, SPASTICITY, BOTOX, Decimal(300), "ok"))
        charts.add_patient(mrn, Patient(birth_date=BORN), (Administration(on, BOTOX, SPASTICITY, Decimal(300)),))
    return FakeFollowUpRecords(outcomes, charts)


def test_the_assessments_come_most_overdue_first_a_page_at_a_time() -> None:
    records = clinic_of([50, 300, 10, 120, 200])
    first = follow_up_page(records, KNOWLEDGE, TODAY, page=1, per_page=2)
    second = follow_up_page(records, KNOWLEDGE, TODAY, page=2, per_page=2)
    assert (first.assessments_total, first.treated_total, first.pages) == (4, 5, 3)
    assert [r.overdue_days for r in (*first.assessments, *second.assessments)] == [258, 158, 78, 8]
    assert {r.what for r in first.assessments} == {ASSESSMENT}
    # A page beyond the last is the last; a page before the first is the first.
    assert follow_up_page(records, KNOWLEDGE, TODAY, page=99, per_page=2).page == 3
    assert follow_up_page(records, KNOWLEDGE, TODAY, page=-1, per_page=2).page == 1
    assert follow_up_page(records, KNOWLEDGE, TODAY, per_page=10_000).per_page == MAXIMUM_PER_PAGE


def test_the_next_sessions_are_those_of_a_page_of_treated_patients_by_name() -> None:
    records = clinic_of([400, 300, 10, 200, 100])
    pages = [follow_up_page(records, KNOWLEDGE, TODAY, page=n, per_page=2) for n in (1, 2, 3)]
    names = [r.patient.family_name for found in pages for r in found.sessions]
    assert names == sorted(names)
    # Treated ten days ago: the retreatment interval blocks today, so that patient is not listed.
    assert [r.patient.mrn for found in pages for r in found.sessions] == ["FICT-F4", "FICT-F3", "FICT-F1", "FICT-F0"]
    assert [found.page for found in pages] == [1, 2, 3]
    document = follow_up_document(pages[0])
    assert (document["page"], document["pages"], document["treated_total"]) == (1, 3, 5)
    assert [row["mrn"] for row in document["next_sessions"]] == ["FICT-F4", "FICT-F3"]


def test_the_sessions_allowed_today_are_the_next_sessions_whose_earliest_day_is_today() -> None:
    adult = Patient(birth_date=BORN, sex="female", weight_kg=Decimal(70))
    for history in (
        (Administration(TODAY - timedelta(days=400), BOTOX, MIGRAINE, Decimal(155)),),
        (
            Administration(TODAY - timedelta(days=30), BOTOX, SPASTICITY, Decimal(300)),
            Administration(TODAY - timedelta(days=200), BOTOX, MIGRAINE, Decimal(155)),
        ),
        (Administration(TODAY - timedelta(days=84), BOTOX, SPASTICITY, Decimal(400)),),
        (Administration(TODAY + timedelta(days=3), BOTOX, MIGRAINE, Decimal(155)),),
    ):
        allowed = [n for n in next_sessions(KNOWLEDGE, adult, history, TODAY) if n.earliest == TODAY]
        assert sessions_allowed_today(KNOWLEDGE, adult, history, TODAY) == allowed
