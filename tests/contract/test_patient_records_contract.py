"""What the patient-chart and clinical-records ports promise, on every implementation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bont.domain.findings import Finding, Severity
from bont.domain.safety import PriorAdverseEvent, SessionSite
from bont.services.ports import SessionRecord, UnknownPatientError
from tests.contract.conftest import Adapters

BORN = date(1980, 4, 2)


def session(patient_id: int, on: date, units: str, clinician: str = "dr-contract") -> SessionRecord:
    return SessionRecord(
        patient_id=patient_id,
        on=on,
        clinician=clinician,
        indication="cervical-dystonia",
        product="onabotulinumtoxinA",
        protocol="cervical-dystonia/onabotulinumtoxinA/adult",
        guidance="",
        total_units=Decimal(units),
        sites=(SessionSite("splenius-capitis", "left", Decimal(units)),),
        draws=(),
        discards=(),
        findings=(Finding(Severity.INFO, "off-label-use", "fictional note"),),
        acknowledgements={},
        verdict="ok",
        override_reason="",
        deviation_reason="",
    )


def test_a_chart_holds_the_patient_and_every_session_with_its_protocol(adapters: Adapters) -> None:
    patient_id = adapters.arrange.patient("FICT-C1", birth_date=BORN, sex="female", weight_kg=Decimal(61))
    adapters.arrange.clinician("dr-contract")
    with adapters.records:
        adapters.records.add_session(session(patient_id, date(2026, 9, 1), "150"))
    patient, history = adapters.charts.chart("FICT-C1", date(2026, 11, 29))
    assert (patient.birth_date, patient.sex, patient.weight_kg) == (BORN, "female", Decimal(61))
    assert [(h.on, h.product, h.indication, h.units, h.protocol) for h in history] == [
        (
            date(2026, 9, 1),
            "onabotulinumtoxinA",
            "cervical-dystonia",
            Decimal(150),
            "cervical-dystonia/onabotulinumtoxinA/adult",
        )
    ]


def test_an_unknown_mrn_is_refused_without_repeating_it(adapters: Adapters) -> None:
    with pytest.raises(UnknownPatientError) as refused:
        adapters.charts.chart("FICT-NOBODY", date(2026, 11, 29))
    assert refused.value.field == "mrn"
    assert "FICT-NOBODY" not in str(refused.value)


def test_a_unit_of_work_that_is_discarded_or_fails_writes_nothing(adapters: Adapters) -> None:
    patient_id = adapters.arrange.patient("FICT-C2", birth_date=BORN)
    adapters.arrange.clinician("dr-contract")
    with adapters.records:
        adapters.records.add_session(session(patient_id, date(2026, 9, 1), "100"))
        adapters.records.discard_changes()
    with pytest.raises(RuntimeError, match="half-way"):
        write_then_fail(adapters, patient_id)
    _, history = adapters.charts.chart("FICT-C2", date(2026, 11, 29))
    assert history == ()


def write_then_fail(adapters: Adapters, patient_id: int) -> None:
    with adapters.records:
        adapters.records.add_session(session(patient_id, date(2026, 9, 2), "100"))
        raise RuntimeError("the write fails half-way")


def test_only_a_clinician_may_override(adapters: Adapters) -> None:
    adapters.arrange.clinician("dr-contract")
    assert adapters.records.user_may_override("dr-contract")
    assert not adapters.records.user_may_override("somebody-else")


def test_the_adverse_events_up_to_a_day_come_with_their_suspected_treatment(adapters: Adapters) -> None:
    patient_id = adapters.arrange.patient("FICT-C3", birth_date=BORN)
    adapters.arrange.clinician("dr-contract")
    with adapters.records:
        adapters.records.add_session(session(patient_id, date(2026, 9, 1), "150"))
        adapters.records.add_session(session(patient_id, date(2026, 10, 1), "150"))
    adapters.arrange.withdraw_sessions(patient_id, date(2026, 10, 1))
    adapters.arrange.adverse_event(patient_id, date(2026, 9, 9), "dysphagia", "severe", True, date(2026, 9, 1))
    adapters.arrange.adverse_event(patient_id, date(2026, 8, 2), "ptosis", "mild", False)
    adapters.arrange.adverse_event(patient_id, date(2026, 10, 3), "neck weakness", "moderate", False, date(2026, 10, 1))
    adapters.arrange.adverse_event(patient_id, date(2026, 12, 1), "dry mouth", "mild", False, date(2026, 9, 1))
    expected = [
        (date(2026, 8, 2), "ptosis", "mild", False, None, None),
        (date(2026, 9, 9), "dysphagia", "severe", True, "onabotulinumtoxinA", "cervical-dystonia"),
        (date(2026, 10, 3), "neck weakness", "moderate", False, None, None),  # its session was withdrawn
    ]
    for events in (
        adapters.charts.prior_adverse_events("FICT-C3", date(2026, 11, 29)),
        _locked_events(adapters, patient_id, date(2026, 11, 29)),
    ):
        assert [(e.on, e.term, str(e.severity), e.serious, e.product, e.indication) for e in events] == expected
    with pytest.raises(UnknownPatientError):
        adapters.charts.prior_adverse_events("FICT-NOBODY", date(2026, 11, 29))


def _locked_events(adapters: Adapters, patient_id: int, on: date) -> tuple[PriorAdverseEvent, ...]:
    with adapters.records:
        return adapters.records.prior_adverse_events(patient_id, on)


# -- the record lifecycle: withdrawing and correcting inside a unit of work


def test_a_session_withdrawn_in_a_unit_of_work_leaves_the_history_only_when_it_commits(adapters: Adapters) -> None:
    patient_id = adapters.arrange.patient("FICT-C5", birth_date=BORN)
    adapters.arrange.clinician("dr-contract")
    with adapters.records:
        session_id = adapters.records.add_session(session(patient_id, date(2026, 9, 1), "100"))
    with adapters.records:
        stored = adapters.records.lock_session(session_id)
        assert stored is not None
        assert (stored.patient_id, stored.product, stored.withdrawn_reason) == (patient_id, "onabotulinumtoxinA", "")
        adapters.records.withdraw_session(session_id, "entered in error", "dr-contract")
        _, inside = adapters.records.lock_patient(patient_id, date(2026, 11, 29))
        assert inside == ()
        adapters.records.discard_changes()
    _, kept = adapters.charts.chart("FICT-C5", date(2026, 11, 29))
    assert [h.units for h in kept] == [Decimal(100)]
    with adapters.records:
        adapters.records.withdraw_session(session_id, "entered in error", "dr-contract")
    _, history = adapters.charts.chart("FICT-C5", date(2026, 11, 29))
    assert history == ()
    with adapters.records:
        withdrawn = adapters.records.lock_session(session_id)
        assert withdrawn is not None
        assert withdrawn.withdrawn_reason == "entered in error"
        assert adapters.records.lock_session(987654) is None


def test_a_correction_keeps_the_draws_of_the_session_it_corrects_without_drawing_again(adapters: Adapters) -> None:
    from dataclasses import replace

    patient_id = adapters.arrange.patient("FICT-C6", birth_date=BORN)
    adapters.arrange.clinician("dr-contract")
    vial_id = adapters.arrange.vial()
    with adapters.records:
        first = adapters.records.add_session(
            replace(
                session(patient_id, date(2026, 9, 1), "100"),
                draws=((vial_id, Decimal(120)),),
                discards=((vial_id, Decimal(80)),),
            )
        )
    with adapters.records:
        original = adapters.records.lock_session(first)
        assert original is not None
        assert (original.draws, original.units_discarded) == (((vial_id, Decimal(120)),), Decimal(80))
        adapters.records.withdraw_session(first, "90 U were given", "dr-contract")
        corrected = adapters.records.add_session(
            replace(
                session(patient_id, date(2026, 9, 1), "90"),
                corrects=first,
                carried_draws=original.draws,
                carried_discarded=original.units_discarded,
            )
        )
        assert adapters.records.lock_vials((vial_id,))[vial_id].units_drawn == Decimal(120)  # drawn once
        written = adapters.records.lock_session(corrected)
        assert written is not None
        assert (written.draws, written.units_discarded, written.withdrawn_reason) == (
            ((vial_id, Decimal(120)),),
            Decimal(80),
            "",
        )
    _, history = adapters.charts.chart("FICT-C6", date(2026, 11, 29))
    assert [h.units for h in history] == [Decimal(90)]


def test_a_withdrawn_adverse_event_is_no_prior_reaction(adapters: Adapters) -> None:
    patient_id = adapters.arrange.patient("FICT-C7", birth_date=BORN)
    adapters.arrange.adverse_event(patient_id, date(2026, 9, 9), "dysphagia", "severe", True)
    assert len(adapters.charts.prior_adverse_events("FICT-C7", date(2026, 11, 29))) == 1
    adapters.arrange.withdraw_adverse_events(patient_id)
    assert adapters.charts.prior_adverse_events("FICT-C7", date(2026, 11, 29)) == ()
    assert _locked_events(adapters, patient_id, date(2026, 11, 29)) == ()
