"""Conditions written as ICD-10-CM codes in a patient's record: a code that ICD-10-CM does not hold is refused
at registration and update, naming the field; codes are stored as the code set writes them; the chart shows
each code with its title. On in-memory fakes, with a small fake of the code-set port."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import ClassVar

import pytest

from bont.domain.code_sets import UNKNOWN_CODE, ConditionCodeSet
from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import Patient
from bont.services.clock import FixedClock
from bont.services.patients import (
    NewPatient,
    PatientRecordError,
    PatientUpdate,
    patient_chart,
    register_patient,
    update_patient,
)
from tests.fakes import FakeClinic, FakePatientCharts, FakePatientRegistry, FakeRegistry

TODAY = date(2026, 11, 29)
CLOCK = FixedClock.on(TODAY)
MRN = "FICT-C1"


class FakeCodeSet(ConditionCodeSet):
    """A few ICD-10-CM codes with their ancestors and titles."""

    CODES: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {
        "L03": ("Cellulitis and acute lymphangitis", ()),
        "L03.2": ("Cellulitis and acute lymphangitis of face and neck", ("L03",)),
        "L03.22": ("Cellulitis and acute lymphangitis of neck", ("L03.2", "L03")),
        "L03.221": ("Cellulitis of neck", ("L03.22", "L03.2", "L03")),
        "G70.01": ("Myasthenia gravis with (acute) exacerbation", ("G70.0", "G70")),
    }

    def is_valid(self, code: str) -> bool:
        return code in self.CODES

    def ancestors(self, code: str) -> tuple[str, ...]:
        return self.CODES[code][1] if code in self.CODES else ()

    def description(self, code: str) -> str | None:
        return self.CODES[code][0] if code in self.CODES else None


@pytest.fixture
def coded(knowledge: KnowledgeBase) -> KnowledgeBase:
    return replace(knowledge, condition_codes=FakeCodeSet())


def new_patient(*conditions: str) -> NewPatient:
    return NewPatient(MRN, "Fictional", "Coded", date(1970, 6, 1), conditions=conditions)


def test_registration_refuses_a_condition_written_as_a_code_icd10cm_does_not_hold(coded: KnowledgeBase) -> None:
    state = FakeRegistry()
    with pytest.raises(PatientRecordError) as refused:
        register_patient(FakePatientRegistry(state), CLOCK, new_patient("myasthenia gravis", "L03.999"), coded)
    assert (refused.value.field, refused.value.problem) == ("conditions.1", UNKNOWN_CODE)
    assert "L03.999" not in str(refused.value)  # messages may be logged: the record's content stays out
    assert state.patients == {}


def test_registration_stores_codes_as_icd10cm_writes_them_and_names_as_written(coded: KnowledgeBase) -> None:
    state = FakeRegistry()
    register_patient(FakePatientRegistry(state), CLOCK, new_patient("l03221", "Myasthenia gravis", "T2DM"), coded)
    assert state.conditions[MRN] == ["L03.221", "Myasthenia gravis", "T2DM"]


def test_an_update_refuses_an_unknown_code_naming_the_added_condition(coded: KnowledgeBase) -> None:
    state = FakeRegistry()
    registry = FakePatientRegistry(state)
    register_patient(registry, CLOCK, new_patient(), coded)
    with pytest.raises(PatientRecordError) as refused:
        update_patient(registry, MRN, PatientUpdate(on=TODAY, add_conditions=("G70.01", "z99.999")), coded)
    assert refused.value.field == "add_conditions.1"
    assert state.conditions[MRN] == []


def test_a_code_added_in_lower_case_is_resolved_in_lower_case(coded: KnowledgeBase) -> None:
    state = FakeRegistry()
    registry = FakePatientRegistry(state)
    register_patient(registry, CLOCK, new_patient(), coded)
    update_patient(registry, MRN, PatientUpdate(on=TODAY, add_conditions=("l03.221",)), coded)
    assert state.conditions[MRN] == ["L03.221"]
    update_patient(registry, MRN, PatientUpdate(on=TODAY, resolve_conditions=("l03.221",)), coded)
    assert state.conditions[MRN] == []


def test_the_chart_shows_each_code_with_its_title_and_the_warning_it_raises(coded: KnowledgeBase) -> None:
    state = FakeRegistry()
    register_patient(FakePatientRegistry(state), CLOCK, new_patient(), coded)
    clinic = FakeClinic()
    clinic.add_patient(MRN, Patient(birth_date=date(1970, 6, 1), conditions=("L03.221", "pregnant")), ())
    chart = patient_chart(FakePatientRegistry(state), FakePatientCharts(clinic), coded, MRN, TODAY)
    assert [c.label for c in chart.conditions] == ["L03.221 — Cellulitis of neck", "pregnant"]
    assert "Infection at the proposed injection site (L03.221)" in chart.warnings
