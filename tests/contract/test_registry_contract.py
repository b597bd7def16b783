"""What the patient registry, user accounts and adverse events ports promise, on every implementation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from bont.services.adverse_events import AdverseEventReport, AdverseEvents
from bont.services.patients import NewPatient, PatientRecordError, PatientRegistry, PatientUpdate
from bont.services.ports import UnknownPatientError
from bont.services.tokens import hash_token
from bont.services.users import AccountError, UserAccounts
from tests.fakes import FakeAdverseEvents, FakePatientRegistry, FakeRegistry, FakeUserAccounts, SessionEntry

BORN = date(1975, 3, 9)
RECORDED = date(2026, 1, 5)


class SessionArrange:
    """Stores a given session for a patient the way the implementation under test keeps it."""

    def __init__(self, registry: FakeRegistry | None) -> None:
        self.registry = registry

    def session(
        self, mrn: str, on: date, product: str, units: str, withdrawn: bool = False, overridden: bool = False
    ) -> int:
        """``overridden``: recorded past a blocking finding (a session without it showed a warning only)."""
        if self.registry is not None:
            rows = self.registry.sessions[mrn]
            session_id = sum(len(r) for r in self.registry.sessions.values()) + 1
            rows.append(
                SessionEntry(
                    session_id,
                    on,
                    product,
                    "blepharospasm",
                    Decimal(units),
                    "ok",
                    "",
                    "x" * withdrawn,
                    overridden,
                    recorded_by="dr-registry",
                )
            )
            return session_id
        from django.contrib.auth import get_user_model

        from bont.clinic import models

        clinician, _ = get_user_model().objects.get_or_create(username="dr-registry")
        row = models.TreatmentSession.objects.create(
            patient=models.Patient.objects.get(mrn=mrn),
            date=on,
            clinician=clinician,
            indication="blepharospasm",
            product=product,
            total_units=Decimal(units),
            verdict="ok",
            withdrawn_reason="entered in error" if withdrawn else "",
        )
        severity = "block" if overridden else "warn"
        models.SessionFinding.objects.create(session=row, severity=severity, code="fictional", message="fictional")
        return int(row.pk)


@dataclass
class Registry:
    patients: PatientRegistry
    users: UserAccounts
    events: AdverseEvents
    arrange: SessionArrange


@pytest.fixture
def registry(database: str | None) -> Iterator[Registry]:
    if database is None:
        state = FakeRegistry()
        yield Registry(
            FakePatientRegistry(state), FakeUserAccounts(state), FakeAdverseEvents(state), SessionArrange(state)
        )
        return
    from django.core.management import call_command

    from bont.bootstrap import adverse_events, patient_registry, user_accounts

    call_command("flush", interactive=False, verbosity=0)
    yield Registry(patient_registry(), user_accounts(), adverse_events(), SessionArrange(None))


def new(mrn: str, family: str = "Contract", given: str = "Fictional", **fields: object) -> NewPatient:
    return NewPatient(mrn=mrn, given_name=given, family_name=family, birth_date=BORN, **fields)  # type: ignore[arg-type]


def test_a_registered_patient_reads_back_with_their_first_weight_and_history(registry: Registry) -> None:
    registry.patients.add(new("FICT-R1", weight_kg=Decimal("70.5"), conditions=("G24.5",)), RECORDED)
    record = registry.patients.record("FICT-R1")
    assert (record.header.mrn, record.header.name, record.header.birth_date) == ("FICT-R1", "Contract, Fictional", BORN)
    assert [(w.on, w.kg) for w in record.weights] == [(RECORDED, Decimal("70.5"))]
    assert record.conditions == ("G24.5",)


def test_a_second_patient_with_the_same_mrn_is_refused_without_repeating_it(registry: Registry) -> None:
    registry.patients.add(new("FICT-R2"), RECORDED)
    with pytest.raises(PatientRecordError) as refused:
        registry.patients.add(new("FICT-R2"), RECORDED)
    assert refused.value.field == "mrn"
    assert "FICT-R2" not in str(refused.value)


def test_unknown_patients_are_refused_by_field(registry: Registry) -> None:
    with pytest.raises(UnknownPatientError):
        registry.patients.record("FICT-NOBODY")
    with pytest.raises(UnknownPatientError):
        registry.patients.update("FICT-NOBODY", PatientUpdate(on=RECORDED))
    with pytest.raises(UnknownPatientError):
        registry.events.reporting_context("FICT-NOBODY")


def test_resolving_a_condition_the_patient_does_not_have_is_refused(registry: Registry) -> None:
    registry.patients.add(new("FICT-R3"), RECORDED)
    with pytest.raises(PatientRecordError) as refused:
        registry.patients.update("FICT-R3", PatientUpdate(on=RECORDED, resolve_conditions=("G35",)))
    assert refused.value.field == "resolve-condition"


def test_search_matches_part_of_a_name_or_mrn_in_any_case_ordered_by_name(registry: Registry) -> None:
    registry.patients.add(new("FICT-R4", family="Zeta"), RECORDED)
    registry.patients.add(new("FICT-R5", family="Alpha"), RECORDED)
    registry.patients.add(new("OTHER-1", family="Beta"), RECORDED)
    registry.arrange.session("FICT-R4", date(2026, 2, 1), "onabotulinumtoxinA", "50")
    assert [(r.mrn, r.session_count) for r in registry.patients.search("fict-r", 10)] == [
        ("FICT-R5", 0),
        ("FICT-R4", 1),
    ]
    assert [r.mrn for r in registry.patients.search("", 2)] == ["FICT-R5", "OTHER-1"]


def test_a_session_recorded_past_a_block_reads_back_as_overridden_with_who_recorded_it(registry: Registry) -> None:
    registry.patients.add(new("FICT-R9"), RECORDED)
    warned = registry.arrange.session("FICT-R9", date(2026, 2, 1), "onabotulinumtoxinA", "50")
    overridden = registry.arrange.session("FICT-R9", date(2026, 3, 1), "onabotulinumtoxinA", "50", overridden=True)
    sessions = registry.patients.record("FICT-R9").sessions
    assert [(s.id, s.blocked, s.recorded_by, s.withdrawn_by) for s in sessions] == [
        (warned, False, "dr-registry", None),
        (overridden, True, "dr-registry", None),
    ]


def test_reporting_context_lists_the_sessions_and_marks_withdrawn_ones(registry: Registry) -> None:
    registry.patients.add(new("FICT-R6"), RECORDED)
    kept = registry.arrange.session("FICT-R6", date(2026, 2, 1), "onabotulinumtoxinA", "50")
    gone = registry.arrange.session("FICT-R6", date(2026, 3, 1), "onabotulinumtoxinA", "50", withdrawn=True)
    context = registry.events.reporting_context("FICT-R6")
    assert [(s.id, s.withdrawn) for s in context.sessions] == [(kept, False), (gone, True)]
    assert [s.id for s in context.choices] == [kept]


def test_adverse_events_list_latest_first_and_filter_by_the_suspected_product(registry: Registry) -> None:
    registry.patients.add(new("FICT-R7"), RECORDED)
    botox = registry.arrange.session("FICT-R7", date(2026, 2, 1), "onabotulinumtoxinA", "50")
    registry.events.add(AdverseEventReport("FICT-R7", "ptosis", date(2026, 2, 10), "mild", botox))
    registry.events.add(AdverseEventReport("FICT-R7", "headache", date(2026, 3, 1), "moderate"))
    assert [(r.event, r.session_on) for r in registry.events.listing(None, 10)] == [
        ("headache", None),
        ("ptosis", date(2026, 2, 1)),
    ]
    assert [r.event for r in registry.events.listing("onabotulinumtoxinA", 10)] == ["ptosis"]
    record = registry.patients.record("FICT-R7")
    assert [(e.event, e.session_id) for e in record.adverse_events] == [("ptosis", botox), ("headache", None)]
    # What the chart lists reads back as the same parts of the record.
    treatment = registry.patients.treatment_record("FICT-R7")
    assert (treatment.header, treatment.adverse_events, treatment.sessions) == (
        record.header,
        record.adverse_events,
        record.sessions,
    )


def test_a_token_finds_its_user_and_a_duplicate_user_is_refused(registry: Registry) -> None:
    registry.users.add("fict-nurse", "nurse", None)
    assert registry.users.exists("fict-nurse")
    assert not registry.users.exists("fict-nobody")
    with pytest.raises(AccountError) as refused:
        registry.users.add("fict-nurse", "nurse", None)
    assert refused.value.field == "username"
    token_id = registry.users.store_token("fict-nurse", hash_token("secret"))
    holder = registry.users.token_holder(hash_token("secret"))
    assert holder is not None
    assert (holder.token_id, holder.username, holder.user_active) == (token_id, "fict-nurse", True)
    assert registry.users.token_holder(hash_token("other")) is None


def test_a_users_npi_is_kept_replaced_and_removed(registry: Registry) -> None:
    registry.users.add("fict-doctor", "clinician", None)
    assert registry.users.npi("fict-doctor") == ""
    assert registry.users.npi("fict-nobody") is None
    assert registry.users.set_npi("fict-doctor", "1234567893")
    assert registry.users.set_npi("fict-doctor", "1993999998")
    assert registry.users.npi("fict-doctor") == "1993999998"
    assert registry.users.set_npi("fict-doctor", "")
    assert registry.users.npi("fict-doctor") == ""
    assert not registry.users.set_npi("fict-nobody", "1234567893")


def test_an_adverse_event_is_read_corrected_and_withdrawn_once_and_stays_listed(registry: Registry) -> None:
    from bont.services.adverse_events import AdverseEventCorrection

    registry.patients.add(new("FICT-R8"), RECORDED)
    botox = registry.arrange.session("FICT-R8", date(2026, 2, 1), "onabotulinumtoxinA", "50")
    event_id = registry.events.add(
        AdverseEventReport("FICT-R8", "ptosis", date(2026, 2, 10), "mild", botox, notes="left lid", serious=False)
    )
    stored = registry.events.event(event_id)
    assert stored is not None
    assert (stored.mrn, stored.event, stored.severity, stored.serious, stored.notes, stored.session_id) == (
        "FICT-R8",
        "ptosis",
        "mild",
        False,
        "left lid",
        botox,
    )
    assert registry.events.event(987654) is None
    registry.events.correct(event_id, AdverseEventCorrection(severity="moderate", serious=True), None)
    corrected = registry.events.event(event_id)
    assert corrected is not None
    assert (corrected.event, corrected.severity, corrected.serious, corrected.notes) == (
        "ptosis",
        "moderate",
        True,
        "left lid",
    )
    assert registry.events.withdraw(event_id, "another patient's event", None) == ""
    assert registry.events.withdraw(event_id, "again", None) == "another patient's event"
    assert registry.events.withdraw(987654, "no such event", None) is None
    [row] = registry.events.listing(None, 10)
    assert (row.id, row.withdrawn, row.withdrawn_reason) == (event_id, True, "another patient's event")
    [entry] = registry.patients.record("FICT-R8").adverse_events
    assert (entry.id, entry.withdrawn_reason) == (event_id, "another patient's event")


def test_the_patient_list_counts_the_sessions_that_were_not_withdrawn(registry: Registry) -> None:
    registry.patients.add(new("FICT-R9"), RECORDED)
    registry.arrange.session("FICT-R9", date(2026, 2, 1), "onabotulinumtoxinA", "50")
    registry.arrange.session("FICT-R9", date(2026, 3, 1), "onabotulinumtoxinA", "50", withdrawn=True)
    assert [(r.mrn, r.session_count) for r in registry.patients.search("FICT-R9", 10)] == [("FICT-R9", 1)]
    assert len(registry.patients.record("FICT-R9").sessions) == 2


def test_demographics_are_corrected_in_place_and_the_first_weight_keeps_the_day_it_was_measured(
    registry: Registry,
) -> None:
    registry.patients.add(new("FICT-R9", weight_kg=Decimal(70), weighed_on=date(2026, 1, 2)), RECORDED)
    registry.patients.update(
        "FICT-R9",
        PatientUpdate(
            on=date(2026, 2, 1),
            weight_kg=Decimal("71.5"),
            given_name="Renamed",
            family_name="Corrected",
            birth_date=date(1975, 3, 10),
            sex="female",
        ),
    )
    record = registry.patients.record("FICT-R9")
    assert (record.header.name, record.header.birth_date, record.header.sex) == (
        "Corrected, Renamed",
        date(1975, 3, 10),
        "female",
    )
    assert [(w.on, w.kg) for w in record.weights] == [(date(2026, 1, 2), 70), (date(2026, 2, 1), Decimal("71.5"))]
    # The day of the weight a chart reads (the patient banner's "weighed on"), as of a day
    weighed_on = registry.patients.weighed_on
    assert [weighed_on("FICT-R9", day) for day in (date(2026, 1, 1), date(2026, 1, 31), date(2026, 2, 1))] == [
        None,
        date(2026, 1, 2),
        date(2026, 2, 1),
    ]
    registry.patients.add(new("FICT-R9-UNWEIGHED"), RECORDED)
    assert weighed_on("FICT-R9-UNWEIGHED", date(2026, 2, 1)) is None
    with pytest.raises(UnknownPatientError):
        weighed_on("FICT-NOBODY", RECORDED)


def test_an_allergy_is_removed_once_and_an_allergy_not_on_file_is_refused(registry: Registry) -> None:
    registry.patients.add(new("FICT-R10", allergies=("latex", "egg")), RECORDED)
    registry.patients.update("FICT-R10", PatientUpdate(on=date(2026, 2, 1), remove_allergies=("latex",)))
    assert registry.patients.record("FICT-R10").allergies == ("egg",)
    with pytest.raises(PatientRecordError) as refused:
        registry.patients.update("FICT-R10", PatientUpdate(on=date(2026, 2, 2), remove_allergies=("latex",)))
    assert refused.value.field == "remove-allergy"
