"""What the outcome port promises (measurements, diaries, diary links, continuation settings, the
registry's counts), on the in-memory fake and on the Django adapter (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

import pytest

from bont.domain.outcomes import Score
from bont.services.outcome_ports import (
    ContinuationSetting,
    GivenSession,
    NewOutcome,
    OutcomeRecords,
    SessionCount,
    StoredAdverseEvent,
    StoredDiaryLink,
)
from bont.services.ports import UnknownPatientError
from tests.fakes import FakeOutcomeClinic, FakeOutcomeRecords

BORN = date(1980, 4, 2)
DYSTONIA = "cervical-dystonia"
BOTOX = "onabotulinumtoxinA"


class ArrangeOutcomes(Protocol):
    """Stores a test's starting records the way the implementation under test keeps them."""

    def patient(self, mrn: str, given_name: str = "Fictional", family_name: str = "Contract") -> int: ...

    def session(self, patient_id: int, on: date, units: str, indication: str = DYSTONIA) -> None: ...

    def withdraw_sessions(self, patient_id: int, on: date) -> None: ...

    def withdraw_outcomes(self, patient_id: int) -> None: ...

    def adverse_event(self, patient_id: int, indication: str, onset: date, event: str) -> None:
        """An event suspected of the patient's first session for the indication."""

    def withdraw_adverse_events(self, patient_id: int) -> None: ...


@dataclass
class OutcomeAdapters:
    records: OutcomeRecords
    arrange: ArrangeOutcomes


class FakeArrangeOutcomes:
    def __init__(self, clinic: FakeOutcomeClinic) -> None:
        self.clinic = clinic
        self.suspected: dict[tuple[int, str], date] = {}  # (patient, event) -> the suspected session's day

    def patient(self, mrn: str, given_name: str = "Fictional", family_name: str = "Contract") -> int:
        return self.clinic.add_patient(mrn, BORN, given_name, family_name)

    def session(self, patient_id: int, on: date, units: str, indication: str = DYSTONIA) -> None:
        self.clinic.add_session(patient_id, GivenSession(on, indication, BOTOX, Decimal(units), "ok"))

    def withdraw_sessions(self, patient_id: int, on: date) -> None:
        self.clinic.sessions[patient_id] = [s for s in self.clinic.sessions[patient_id] if s.on != on]
        # An event suspected of a withdrawn session no longer belongs to the indication's treatment.
        self.clinic.adverse_events[patient_id] = [
            (indication, e)
            for indication, e in self.clinic.adverse_events.get(patient_id, [])
            if self.suspected.get((patient_id, e.event)) != on
        ]

    def withdraw_adverse_events(self, patient_id: int) -> None:
        self.clinic.adverse_events[patient_id] = []

    def withdraw_outcomes(self, patient_id: int) -> None:
        from dataclasses import replace

        self.clinic.outcomes[patient_id] = [replace(o, withdrawn=True) for o in self.clinic.outcomes[patient_id]]

    def adverse_event(self, patient_id: int, indication: str, onset: date, event: str) -> None:
        first = next(s.on for s in self.clinic.sessions[patient_id] if s.indication == indication)
        self.suspected[(patient_id, event)] = first
        self.clinic.adverse_events.setdefault(patient_id, []).append(
            (indication, StoredAdverseEvent(onset, event, "mild", ""))
        )


class DjangoArrangeOutcomes:
    def patient(self, mrn: str, given_name: str = "Fictional", family_name: str = "Contract") -> int:
        from bont.clinic.registry import NewPatient, add_patient

        return add_patient(
            NewPatient(mrn=mrn, given_name=given_name, family_name=family_name, birth_date=BORN, recorded_on=BORN)
        )

    def session(self, patient_id: int, on: date, units: str, indication: str = DYSTONIA) -> None:
        from django.contrib.auth import get_user_model

        from bont.bootstrap import clinical_records
        from bont.clinic.registry import add_user
        from bont.domain.safety import SessionSite
        from bont.services.ports import SessionRecord

        if not get_user_model().objects.filter(username="dr-contract").exists():
            add_user("dr-contract", "clinician")
        record = SessionRecord(
            patient_id=patient_id,
            on=on,
            clinician="dr-contract",
            indication=indication,
            product=BOTOX,
            protocol=None,
            guidance="",
            total_units=Decimal(units),
            sites=(SessionSite("splenius-capitis", "left", Decimal(units)),),
            draws=(),
            discards=(),
            findings=(),
            acknowledgements={},
            verdict="ok",
            override_reason="",
            deviation_reason="",
        )
        with clinical_records() as records:
            records.add_session(record)

    def withdraw_sessions(self, patient_id: int, on: date) -> None:
        from django.db import transaction  # noqa: TID251 (the derived rows are kept inside the withdrawal's transaction)

        from bont.bootstrap import build_knowledge
        from bont.clinic import models
        from bont.clinic.derived import DerivedSummaries

        with transaction.atomic():
            models.TreatmentSession.objects.filter(patient_id=patient_id, date=on).update(withdrawn_reason="in error")
            DerivedSummaries(build_knowledge()).refresh(patient_id)

    def withdraw_outcomes(self, patient_id: int) -> None:
        from bont.clinic import models

        models.OutcomeRecord.objects.filter(patient_id=patient_id).update(withdrawn_reason="in error")

    def adverse_event(self, patient_id: int, indication: str, onset: date, event: str) -> None:
        from bont.clinic import models

        session = models.TreatmentSession.objects.filter(patient_id=patient_id, indication=indication).first()
        models.AdverseEvent.objects.create(
            patient_id=patient_id, suspected_session=session, event=event, onset=onset, severity="mild"
        )

    def withdraw_adverse_events(self, patient_id: int) -> None:
        from bont.clinic import models

        models.AdverseEvent.objects.filter(patient_id=patient_id).update(withdrawn_reason="in error")


@pytest.fixture
def outcomes(database: str | None) -> Iterator[OutcomeAdapters]:
    if database is None:
        clinic = FakeOutcomeClinic()
        yield OutcomeAdapters(FakeOutcomeRecords(clinic), FakeArrangeOutcomes(clinic))
        return
    from django.core.management import call_command

    from bont.bootstrap import outcome_records

    call_command("flush", interactive=False, verbosity=0)
    yield OutcomeAdapters(outcome_records(), DjangoArrangeOutcomes())


def test_a_patient_is_found_by_mrn_and_an_unknown_mrn_is_refused_without_repeating_it(
    outcomes: OutcomeAdapters,
) -> None:
    patient_id = outcomes.arrange.patient("FICT-O1", "Ada", "Zed")
    outcomes.arrange.patient("FICT-O2", "Bea", "Abel")
    found = outcomes.records.patient("FICT-O1")
    assert (found.patient_id, found.mrn, found.given_name, found.family_name, found.birth_date) == (
        patient_id,
        "FICT-O1",
        "Ada",
        "Zed",
        BORN,
    )
    assert outcomes.records.patient_by_id(patient_id) == found
    assert [p.mrn for p in outcomes.records.patients()] == ["FICT-O2", "FICT-O1"]
    with pytest.raises(UnknownPatientError) as refused:
        outcomes.records.patient("FICT-NOBODY")
    assert "FICT-NOBODY" not in str(refused.value)


def test_a_measurement_comes_back_as_its_instrument_scored_it_and_withdrawn_ones_are_marked(
    outcomes: OutcomeAdapters,
) -> None:
    patient_id = outcomes.arrange.patient("FICT-O3")
    grade = Score("modified-ashworth", grade="1+", rank=2)
    items = Score("phq-9", value=Decimal(7), band="mild", items=(("item-1", 2), ("item-2", 1)))
    outcomes.records.add_outcome(
        NewOutcome(patient_id, "upper-limb-spasticity", "modified-ashworth", date(2026, 3, 2), None, grade, None)
    )
    outcomes.records.add_outcome(
        NewOutcome(patient_id, "depression", "phq-9", date(2026, 2, 1), date(2026, 1, 18), items, "nobody-known")
    )
    stored = outcomes.records.outcomes(patient_id)
    assert [(o.instrument, o.measured_on, o.period_start, o.withdrawn) for o in stored] == [
        ("phq-9", date(2026, 2, 1), date(2026, 1, 18), False),
        ("modified-ashworth", date(2026, 3, 2), None, False),
    ]
    assert [o.score for o in stored] == [items, grade]
    assert [o.indication for o in stored] == ["depression", "upper-limb-spasticity"]
    outcomes.arrange.withdraw_outcomes(patient_id)
    assert [o.withdrawn for o in outcomes.records.outcomes(patient_id)] == [True, True]


def test_sessions_exclude_withdrawn_ones_and_come_by_date(outcomes: OutcomeAdapters) -> None:
    patient_id = outcomes.arrange.patient("FICT-O4")
    outcomes.arrange.session(patient_id, date(2026, 6, 1), "150")
    outcomes.arrange.session(patient_id, date(2026, 1, 5), "100")
    outcomes.arrange.session(patient_id, date(2026, 3, 9), "120")
    outcomes.arrange.withdraw_sessions(patient_id, date(2026, 3, 9))
    assert outcomes.records.sessions(patient_id) == (
        GivenSession(date(2026, 1, 5), DYSTONIA, BOTOX, Decimal(100), "ok"),
        GivenSession(date(2026, 6, 1), DYSTONIA, BOTOX, Decimal(150), "ok"),
    )


def test_a_diary_day_saved_again_replaces_the_day_and_kinds_are_kept_apart(outcomes: OutcomeAdapters) -> None:
    patient_id = outcomes.arrange.patient("FICT-O5")
    day = date(2026, 5, 1)
    outcomes.records.save_diary_day(patient_id, "bladder", day, {"voids": "9", "incontinence_episodes": "3"})
    outcomes.records.save_diary_day(patient_id, "bladder", day, {"voids": "8", "incontinence_episodes": "1"})
    outcomes.records.save_diary_day(patient_id, "headache", day, {"headache_minutes": "60", "features": ["pulsating"]})
    assert outcomes.records.diary_days(patient_id, "bladder") == {day: {"voids": "8", "incontinence_episodes": "1"}}
    assert outcomes.records.diary_days(patient_id, "headache") == {
        day: {"headache_minutes": "60", "features": ["pulsating"]}
    }


def test_a_diary_link_is_found_by_the_hash_of_its_token_only(outcomes: OutcomeAdapters) -> None:
    patient_id = outcomes.arrange.patient("FICT-O6")
    outcomes.records.add_diary_link(patient_id, "headache", "a" * 64, date(2027, 3, 1))
    assert outcomes.records.diary_link("a" * 64) == StoredDiaryLink(patient_id, "headache", date(2027, 3, 1), False)
    assert outcomes.records.diary_link("b" * 64) is None


def test_a_continuation_setting_is_stored_and_replaced_per_rule(outcomes: OutcomeAdapters) -> None:
    assert outcomes.records.continuation_settings() == {}
    first = ContinuationSetting("nice-ta260-two-cycles", True, Decimal(50), 3, None, "payer policy")
    outcomes.records.set_continuation(first)
    assert outcomes.records.continuation_settings() == {first.rule: first}
    off = ContinuationSetting("nice-ta260-two-cycles", False, None, None, 6, "not used here")
    outcomes.records.set_continuation(off)
    assert outcomes.records.continuation_settings() == {off.rule: off}


def test_adverse_events_are_those_suspected_of_a_session_for_the_indication(outcomes: OutcomeAdapters) -> None:
    patient_id = outcomes.arrange.patient("FICT-O7")
    outcomes.arrange.session(patient_id, date(2026, 1, 5), "100")
    outcomes.arrange.session(patient_id, date(2026, 1, 6), "155", indication="chronic-migraine")
    outcomes.arrange.adverse_event(patient_id, DYSTONIA, date(2026, 1, 20), "dysphagia")
    outcomes.arrange.adverse_event(patient_id, DYSTONIA, date(2026, 1, 9), "neck-weakness")
    outcomes.arrange.adverse_event(patient_id, "chronic-migraine", date(2026, 1, 8), "ptosis")
    assert [
        (e.onset, e.event, e.severity, e.outcome) for e in outcomes.records.adverse_events(patient_id, DYSTONIA)
    ] == [
        (date(2026, 1, 9), "neck-weakness", "mild", ""),
        (date(2026, 1, 20), "dysphagia", "mild", ""),
    ]


def test_the_registry_counts_sessions_and_distinct_patients_per_indication_and_product(
    outcomes: OutcomeAdapters,
) -> None:
    first = outcomes.arrange.patient("FICT-O8")
    second = outcomes.arrange.patient("FICT-O9")
    outcomes.arrange.session(first, date(2026, 1, 5), "100")
    outcomes.arrange.session(first, date(2026, 4, 5), "100")
    outcomes.arrange.session(second, date(2026, 2, 5), "120")
    outcomes.arrange.session(second, date(2026, 2, 6), "155", indication="chronic-migraine")
    outcomes.arrange.withdraw_sessions(first, date(2026, 4, 5))
    assert outcomes.records.session_counts() == (
        SessionCount("cervical-dystonia", BOTOX, 2, 2),
        SessionCount("chronic-migraine", BOTOX, 1, 1),
    )


def test_a_measurement_is_read_by_id_and_withdrawn_once_with_who_and_why(outcomes: OutcomeAdapters) -> None:
    patient_id = outcomes.arrange.patient("FICT-O10")
    grade = Score("hdss", grade="3", rank=2)
    outcome_id = outcomes.records.add_outcome(
        NewOutcome(patient_id, "axillary-hyperhidrosis", "hdss", date(2026, 3, 2), None, grade, None)
    )
    stored = outcomes.records.outcome(outcome_id)
    assert stored is not None
    assert (stored.id, stored.patient_id, stored.instrument, stored.score, stored.withdrawn) == (
        outcome_id,
        patient_id,
        "hdss",
        grade,
        False,
    )
    assert outcomes.records.outcome(987654) is None
    assert outcomes.records.withdraw_outcome(outcome_id, "entered for the wrong patient", None) == ""
    assert outcomes.records.withdraw_outcome(outcome_id, "again", None) == "entered for the wrong patient"
    assert outcomes.records.withdraw_outcome(987654, "no such measurement", None) is None
    [withdrawn] = outcomes.records.outcomes(patient_id)
    assert (withdrawn.id, withdrawn.withdrawn, withdrawn.withdrawn_reason) == (
        outcome_id,
        True,
        "entered for the wrong patient",
    )


def test_a_measurement_is_replaced_by_its_correction_in_one_step(outcomes: OutcomeAdapters) -> None:
    patient_id = outcomes.arrange.patient("FICT-O12")
    wrong, right = Score("hdss", grade="3", rank=2), Score("hdss", grade="2", rank=1)
    day = date(2026, 3, 2)
    outcome_id = outcomes.records.add_outcome(
        NewOutcome(patient_id, "axillary-hyperhidrosis", "hdss", day, None, wrong, None)
    )
    correction = NewOutcome(patient_id, "axillary-hyperhidrosis", "hdss", day, None, right, None)
    new_id = outcomes.records.replace_outcome(outcome_id, "corrected: grade misread", None, correction)
    assert isinstance(new_id, int)
    assert outcomes.records.replace_outcome(outcome_id, "again", None, correction) == "corrected: grade misread"
    assert outcomes.records.replace_outcome(987654, "none", None, correction) is None
    rows = outcomes.records.outcomes(patient_id)
    assert [(row.id, row.score, row.withdrawn) for row in rows] == [(outcome_id, wrong, True), (new_id, right, False)]


def test_the_adverse_events_of_an_indication_leave_out_withdrawn_ones_and_those_of_withdrawn_sessions(
    outcomes: OutcomeAdapters,
) -> None:
    first = outcomes.arrange.patient("FICT-O11")
    outcomes.arrange.session(first, date(2026, 1, 5), "100")
    outcomes.arrange.adverse_event(first, DYSTONIA, date(2026, 1, 20), "dysphagia")
    assert [e.event for e in outcomes.records.adverse_events(first, DYSTONIA)] == ["dysphagia"]
    outcomes.arrange.withdraw_sessions(first, date(2026, 1, 5))
    assert outcomes.records.adverse_events(first, DYSTONIA) == ()
    second = outcomes.arrange.patient("FICT-O12")
    outcomes.arrange.session(second, date(2026, 1, 5), "100")
    outcomes.arrange.adverse_event(second, DYSTONIA, date(2026, 1, 9), "neck-weakness")
    outcomes.arrange.withdraw_adverse_events(second)
    assert outcomes.records.adverse_events(second, DYSTONIA) == ()
