"""Registering and editing a patient from the browser's forms: the form readers refuse every bad field by
name (NaN, negative or huge weights, over-long text, impossible dates) and hand the patient service what it
checks for the command line too; the service corrects demographics and dates the first weight. On in-memory
fakes; the forms are read from query strings as the browser posts them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils.datastructures import MultiValueDict

from bont.domain.knowledge import KnowledgeBase
from bont.services.clock import FixedClock
from bont.services.patients import (
    NewPatient,
    PatientRecordError,
    PatientUpdate,
    register_patient,
    search_conditions,
    update_patient,
)
from bont.web.patient_form import read_new_patient, read_patient_update
from tests.fakes import FakePatientRegistry, FakeRegistry

TODAY = date(2026, 11, 29)
CLOCK = FixedClock.on(TODAY)
REGISTRATION = {
    "mrn": "FICT-W1",
    "given_name": "Fictional",
    "family_name": "Formfill",
    "birth_date": "1980-04-02",
    "sex": "female",
    "weight_kg": "61.25",
    "weighed_on": "2026-11-20",
    "condition:0": "",
    "condition:1": "l03221",
    "medications": "sertraline\n\n  baclofen \nsertraline",
    "allergies": "latex",
    "pregnant": "on",
}


def posted(fields: dict[str, str | list[str]]) -> MultiValueDict[str, str]:
    """The fields as Django reads a post (a QueryDict is a MultiValueDict)."""
    return MultiValueDict({name: value if isinstance(value, list) else [value] for name, value in fields.items()})


def test_a_registration_form_becomes_a_new_patient_with_its_weight_dated_and_lists_one_a_line() -> None:
    form = read_new_patient(posted(REGISTRATION), TODAY)
    assert form.errors == {}
    assert form.new == NewPatient(
        mrn="FICT-W1",
        given_name="Fictional",
        family_name="Formfill",
        birth_date=date(1980, 4, 2),
        sex="female",
        weight_kg=Decimal("61.2"),
        conditions=("l03221",),
        medications=("sertraline", "baclofen"),
        allergies=("latex",),
        recorded_on=TODAY,
        weighed_on=date(2026, 11, 20),
        pregnant=True,
    )
    # The service's "conditions.0" is the second row, the first that was filled in.
    assert form.field_of("conditions.0") == "condition:1"


@pytest.mark.parametrize(
    ("field", "typed", "problem"),
    [
        ("weight_kg", "NaN", "must be a number"),
        ("weight_kg", "sixty", "is not a number"),
        ("weight_kg", "-3", "more than 0"),
        ("weight_kg", "1e400", "up to 500"),
        ("weight_kg", "1e-400", "more than 0"),
        ("weight_kg", "0.05", "more than 0"),
        ("family_name", "Nul\x00l", "cannot be stored"),
        ("allergies", "latex\negg\x00", "cannot be stored"),
        ("weight_kg", "Infinity", "more than 0"),
        ("weight_kg", "sNaN", "more than 0"),
        ("birth_date", "2030-01-01", "between 1900-01-01 and today"),
        ("birth_date", "20260101", "is not a date"),
        ("birth_date", "", "is required"),
        ("weighed_on", "1970-01-01", "between the birth date and today"),
        ("given_name", "x" * 10_000_000, "at most 100 characters"),
        ("mrn", "", "is required"),
        ("mrn", "A/1", "slash"),
        ("sex", "dragon", "must be one of"),
        ("condition:2", "c" * 121, "at most 120 characters"),
        ("medications", "\n".join(f"medicine {n}" for n in range(21)), "at most 20 lines"),
    ],
)
def test_each_bad_field_is_refused_by_name_and_nothing_is_registered(field: str, typed: str, problem: str) -> None:
    form = read_new_patient(posted({**REGISTRATION, field: typed}), TODAY)
    assert form.new is None
    assert problem in form.errors[field]


def test_an_edit_form_becomes_a_dated_update_resolving_only_what_is_on_file() -> None:
    fields: dict[str, str | list[str]] = {
        "given_name": "Fictional",
        "family_name": "Renamed",
        "birth_date": "1980-04-02",
        "sex": "female",
        "on": "2026-11-28",
        "weight_kg": "63",
        "condition:0": "G43.709",
        "resolve": ["L03.221", "not-on-file"],
        "stop": ["sertraline"],
        "allergies": "penicillin",
        "remove_allergy": ["latex", "not-on-file"],
        "breastfeeding": "on",
    }
    form = read_patient_update(posted(fields), TODAY, ("L03.221",), ("sertraline", "baclofen"), ("latex",))
    assert form.errors == {}
    assert form.update == PatientUpdate(
        on=date(2026, 11, 28),
        weight_kg=Decimal("63.0"),
        add_conditions=("G43.709",),
        resolve_conditions=("L03.221",),
        stop_medications=("sertraline",),
        add_allergies=("penicillin",),
        remove_allergies=("latex",),
        pregnant=False,
        breastfeeding=True,
        catheterizes=False,
        given_name="Fictional",
        family_name="Renamed",
        birth_date=date(1980, 4, 2),
        sex="female",
    )


def test_an_edit_dated_in_the_future_is_refused() -> None:
    fields = {"given_name": "A", "family_name": "B", "birth_date": "1980-04-02", "on": "2026-12-01"}
    form = read_patient_update(posted(fields), TODAY, (), ())
    assert form.update is None
    assert form.errors == {"on": "must lie between the birth date and today"}


def test_demographics_are_corrected_and_the_first_weight_keeps_its_date(knowledge: KnowledgeBase) -> None:
    registry = FakePatientRegistry(FakeRegistry())
    new = NewPatient(
        "FICT-W2", "Fictional", "Weighed", date(1990, 1, 1), weight_kg=Decimal(70), weighed_on=date(2026, 11, 1)
    )
    register_patient(registry, CLOCK, new, knowledge)
    update_patient(registry, "FICT-W2", PatientUpdate(on=TODAY, weight_kg=Decimal(72), family_name="Married"))
    record = registry.record("FICT-W2")
    assert record.header.family_name == "Married"
    assert [(w.on, w.kg) for w in record.weights] == [(date(2026, 11, 1), 70), (TODAY, 72)]


def test_a_correction_to_an_impossible_birth_date_or_sex_is_refused_by_name() -> None:
    registry = FakePatientRegistry(FakeRegistry())
    register_patient(registry, CLOCK, NewPatient("FICT-W3", "A", "B", date(1990, 1, 1)))
    with pytest.raises(PatientRecordError) as refused:
        update_patient(registry, "FICT-W3", PatientUpdate(on=TODAY, birth_date=date(2027, 1, 1)))
    assert refused.value.field == "birth_date"
    with pytest.raises(PatientRecordError) as refused:
        update_patient(registry, "FICT-W3", PatientUpdate(on=TODAY, sex="dragon"))
    assert refused.value.field == "sex"


def test_the_condition_picker_finds_codes_by_words_and_titles_a_typed_code(knowledge: KnowledgeBase) -> None:
    found = search_conditions(knowledge, "myasthenia")
    assert any(o.code.startswith("G70") for o in found)
    typed = search_conditions(knowledge, "l03221")
    assert (typed[0].code, typed[0].description) == ("L03.221", "Cellulitis of neck")
    assert search_conditions(knowledge, "L03.999") == ()
