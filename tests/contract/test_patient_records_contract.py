"""What the patient-chart and clinical-records ports promise, on every implementation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bont.domain.findings import Finding, Severity
from bont.domain.safety import SessionSite
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
