"""Importing outside history from a FHIR Bundle: what is recognised, what is refused and why, how the patient is
matched, and that the safety check and the chart count a dose given elsewhere. On an in-memory fake of the
import's port; ``tests/contract/test_fhir_import_commands.py`` runs the journey on the databases."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from bont.domain.codes import UCUM
from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.outside_history import ListKind, OutsideAdministration, OutsideRecord
from bont.domain.safety import Administration, CheckRequest, Patient, SessionPlan, check
from bont.interop.fhir import MRN_SYSTEM
from bont.interop.fhir.read import MalformedBundleError, read_bundle
from bont.services.chart import gauges, given_elsewhere
from bont.services.fhir_import import (
    DoseOnFile,
    ImportRefusedError,
    Outcome,
    OutsideHistoryRecords,
    StoredOutsideDose,
    StoredPatient,
    import_bundle,
    withdraw_outside_dose,
)

TODAY = date(2026, 11, 30)
SOURCE = "https://ehr.another-hospital.example"
BUNDLE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "fhir" / "another-hospital.json").read_text(encoding="utf-8"),
    parse_float=Decimal,
)


class FakeOutsideHistory(OutsideHistoryRecords):
    """Patients, their lists, their own sessions (patient, day, product, units) and the doses given elsewhere in
    dictionaries; a unit of work that fails keeps nothing."""

    def __init__(self) -> None:
        self.patients: dict[int, dict[str, Any]] = {}
        self.terms: dict[tuple[int, ListKind], list[str]] = {}
        self.doses: dict[tuple[str, str], tuple[int, StoredOutsideDose]] = {}
        self.weights: dict[int, list[tuple[date, Decimal]]] = {}
        self.sessions: list[tuple[int, date, str, Decimal]] = []
        self._kept: tuple[Any, ...] = ()

    def __enter__(self) -> FakeOutsideHistory:
        self._kept = copy.deepcopy((self.patients, self.terms, self.doses, self.weights))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is not None:
            self.patients, self.terms, self.doses, self.weights = self._kept

    def register(self, mrn: str, family_name: str, given_name: str, birth_date: date) -> StoredPatient:
        patient_id = len(self.patients) + 1
        self.patients[patient_id] = {"mrn": mrn, "names": (family_name, given_name), "birth_date": birth_date}
        return self._stored(patient_id)

    def _stored(self, patient_id: int) -> StoredPatient:
        patient = self.patients[patient_id]
        return StoredPatient(patient_id, f"key-{patient_id}", patient["birth_date"], patient["names"][0])

    def patient_by_mrn(self, mrn: str) -> StoredPatient | None:
        return next((self._stored(i) for i, p in self.patients.items() if p["mrn"] == mrn), None)

    def patients_named(self, family_name: str, given_name: str, birth_date: date) -> tuple[StoredPatient, ...]:
        return tuple(
            self._stored(i)
            for i, p in self.patients.items()
            if p["names"] == (family_name, given_name) and p["birth_date"] == birth_date
        )

    def add_patient(self, mrn: str, family_name: str, given_name: str, birth_date: date, sex: str) -> StoredPatient:
        return self.register(mrn, family_name, given_name, birth_date)

    def current_terms(self, patient_id: int, kind: ListKind, on: date) -> tuple[str, ...]:
        return tuple(self.terms.get((patient_id, kind), ()))

    def add_term(self, patient_id: int, kind: ListKind, term: str, on: date) -> None:
        self.terms.setdefault((patient_id, kind), []).append(term)

    def outside_dose(self, source: str, record_id: str) -> tuple[int, StoredOutsideDose] | None:
        return self.doses.get((source, record_id))

    def add_outside_dose(self, patient_id: int, dose: OutsideAdministration) -> int:
        stored = StoredOutsideDose(len(self.doses) + 1, dose.on, dose.product, dose.units, dose.indication)
        self.doses[(dose.source, dose.record_id)] = (patient_id, stored)
        return stored.dose_id

    def doses_alike(self, patient_id: int, on: date, product: str, units: Decimal) -> tuple[DoseOnFile, ...]:
        own = [DoseOnFile()] if (patient_id, on, product, units) in self.sessions else []
        elsewhere = [
            DoseOnFile(source, record_id)
            for (source, record_id), (owner, d) in self.doses.items()
            if (owner, d.on, d.product, d.units, d.withdrawn) == (patient_id, on, product, units, False)
        ]
        return (*own, *elsewhere)

    def withdraw_outside_dose(self, dose_id: int, reason: str, by: str | None) -> str | None:
        for key, (owner, dose) in self.doses.items():
            if dose.dose_id == dose_id:
                if dose.withdrawn:
                    return "withdrawn before"
                self.doses[key] = (owner, replace(dose, withdrawn=True))
                return ""
        return None

    def weights_on(self, patient_id: int, on: date) -> tuple[Decimal, ...]:
        return tuple(kg for day, kg in self.weights.get(patient_id, ()) if day == on)

    def add_weight(self, patient_id: int, on: date, kg: Decimal) -> None:
        self.weights.setdefault(patient_id, []).append((on, kg))


def _registered() -> FakeOutsideHistory:
    """A clinic where the fixture's patient is registered under this clinic's own MRN."""
    records = FakeOutsideHistory()
    records.register("LOCAL-7", "Outside", "Fictional", date(1980, 4, 2))
    return records


def _bundle(**changes: Any) -> dict[str, Any]:
    """The fixture bundle with the MedicationAdministration's resource changed (None removes a key)."""
    bundle = copy.deepcopy(BUNDLE)
    resource = bundle["entry"][1]["resource"]
    for key, value in changes.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = value
    return bundle


def _read(knowledge: KnowledgeBase, document: dict[str, Any], source: str | None = None) -> OutsideRecord:
    return read_bundle(document, knowledge, source=source)


def test_another_hospitals_bundle_adds_the_dose_and_the_lists_of_the_patient_on_file(
    knowledge: KnowledgeBase,
) -> None:
    records = _registered()
    report = import_bundle(records, _read(knowledge, BUNDLE), TODAY)
    assert report.patient is Outcome.MATCHED
    assert [(e.path, e.resource, e.outcome) for e in report.entries] == [
        ("entry[1].resource", "MedicationAdministration", Outcome.ADDED),
        ("entry[2].resource", "Condition", Outcome.ADDED),
        ("entry[3].resource", "AllergyIntolerance", Outcome.ADDED),
        ("entry[4].resource", "MedicationStatement", Outcome.ADDED),
    ]
    assert report.entries[0].detail == f"300 U onabotulinumtoxinA on 2026-10-19, given elsewhere ({SOURCE})"
    ((patient_id, dose),) = records.doses.values()
    assert dose == StoredOutsideDose(1, date(2026, 10, 19), "onabotulinumtoxinA", Decimal(300), "cervical-dystonia")
    assert report.entries[0].dose_id == 1
    assert records.patients[patient_id]["mrn"] == "LOCAL-7"
    assert records.terms == {
        (patient_id, ListKind.CONDITION): ["G24.3"],
        (patient_id, ListKind.ALLERGY): ["Penicillin"],
        (patient_id, ListKind.MEDICATION): ["Propranolol 40 mg tablet"],
    }


def test_a_second_import_of_the_same_bundle_matches_everything_and_adds_nothing(knowledge: KnowledgeBase) -> None:
    records = _registered()
    import_bundle(records, _read(knowledge, BUNDLE), TODAY)
    before = copy.deepcopy((records.patients, records.terms, records.doses))
    again = import_bundle(records, _read(knowledge, BUNDLE), TODAY)
    assert again.patient is Outcome.MATCHED
    assert {e.outcome for e in again.entries} == {Outcome.MATCHED}
    assert (records.patients, records.terms, records.doses) == before
    # The same record sent again with another dose is never overwritten silently.
    changed = _bundle(dosage={"dose": {"value": 250, "unit": "U", "system": "http://unitsofmeasure.org", "code": "U"}})
    (dose,) = import_bundle(records, _read(knowledge, changed), TODAY).refused
    assert "imported before with other values (300 U" in dose.detail


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"dosage": {"dose": {"value": "three hundred", "unit": "U"}}}, "entry[1].resource.dosage.dose.value"),
        ({"effectiveDateTime": "2026-13-45"}, "entry[1].resource.effectiveDateTime"),
        ({"status": None}, "entry[1].resource.status"),
        ({"resourceType": "MedicineGiven"}, "entry[1].resource.resourceType"),
    ],
)
def test_a_malformed_bundle_is_refused_whole_with_the_path_of_the_bad_element(
    knowledge: KnowledgeBase, change: dict[str, Any], path: str
) -> None:
    with pytest.raises(MalformedBundleError) as refused:
        _read(knowledge, _bundle(**change))
    assert refused.value.field == path
    with pytest.raises(MalformedBundleError, match="resourceType: must be Bundle"):
        _read(knowledge, BUNDLE["entry"][0]["resource"])


@pytest.mark.parametrize(
    "concept",
    [
        {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "0023392102"}]},  # 10 digits, no hyphens
        {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "0023-3921-02"}]},
        {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "00023-3921-02"}]},
        {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "0023-1145"}]},  # the product code
        {"text": "Botox"},
        {"text": "onabotulinumtoxinA 100 UNT injection"},
        # RxNorm's ingredient is shared by four type A products: the brand says which.
        {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1712"}], "text": "BOTOX"},
    ],
)
def test_the_toxin_is_recognised_by_ndc_in_any_hyphenation_or_by_name(
    knowledge: KnowledgeBase, concept: dict[str, Any]
) -> None:
    (dose,) = _read(knowledge, _bundle(medicationCodeableConcept=concept)).administrations
    assert (dose.product, dose.units) == ("onabotulinumtoxinA", Decimal(300))


@pytest.mark.parametrize(
    ("concept", "reason"),
    [
        ({"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1712"}]}, "not known (BOTOX,"),
        ({"text": "Jeuveau (prabotulinumtoxinA-xvfs)"}, "Jeuveau (prabotulinumtoxinA-xvfs) is a botulinum toxin bont"),
        # A toxin bont does not carry is never said not to be one, whichever of its words says so.
        (
            {
                "coding": [
                    {"system": "urn:oid:2.16.840.1.113883.3.989", "code": "prabotulinumtoxinA", "display": "JEUVEAU"}
                ]
            },
            "JEUVEAU is a botulinum toxin bont does not carry: its units cannot be weighed against these products — "
            "not counted; tell the clinician",
        ),
        ({"text": "BOTOX", "coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "15054-0500-01"}]}, "BOTOX, "),
        ({"text": "Gentamicin 80 mg"}, "is not a botulinum toxin"),
    ],
)
def test_a_toxin_whose_product_is_not_known_is_refused_never_counted(
    knowledge: KnowledgeBase, concept: dict[str, Any], reason: str
) -> None:
    record = _read(knowledge, _bundle(medicationCodeableConcept=concept))
    assert not record.administrations
    (refused,) = record.refused
    assert refused.path == "entry[1].resource"
    assert reason in refused.reason


@pytest.mark.parametrize("code", ["[USP'U]", "U", "[arb'U]", "{units}", "[iU]", "[IU]"])
def test_a_dose_in_units_of_the_toxin_is_taken_as_given(knowledge: KnowledgeBase, code: str) -> None:
    dosage = {"dose": {"value": Decimal("12.5"), "system": "http://unitsofmeasure.org", "code": code}}
    (dose,) = _read(knowledge, _bundle(dosage=dosage)).administrations
    assert dose.units == Decimal("12.5")


@pytest.mark.parametrize(
    ("dose", "reason"),
    [
        ({"value": 3, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}, "in mg, not in units"),
        ({"unit": "U", "system": "http://unitsofmeasure.org", "code": "U"}, "the dose has no value"),
        ({"value": 300}, "the dose has no unit"),
        ({"value": 0, "unit": "U"}, "more than 0"),
    ],
)
def test_a_dose_without_a_value_or_in_another_unit_is_refused_with_the_reason(
    knowledge: KnowledgeBase, dose: dict[str, Any], reason: str
) -> None:
    record = _read(knowledge, _bundle(dosage={"dose": dose}))
    (refused,) = record.refused
    assert refused.path == "entry[1].resource.dosage.dose"
    assert refused.reason.startswith("BOTOX: ")
    assert reason in refused.reason


def test_unknown_medicines_and_resources_are_reported_with_the_reason(knowledge: KnowledgeBase) -> None:
    bundle = copy.deepcopy(BUNDLE)
    bundle["entry"][4]["resource"]["medicationCodeableConcept"] = {"text": "Zorblaxiflam 10 mg"}
    bundle["entry"][2]["resource"]["clinicalStatus"]["coding"][0]["code"] = "resolved"
    bundle["entry"].append({"resource": {"resourceType": "Procedure", "status": "completed", "subject": {}}})
    record = _read(knowledge, bundle)
    assert [(r.path, r.resource) for r in record.refused] == [
        ("entry[2].resource", "Condition"),
        ("entry[4].resource", "MedicationStatement"),
        ("entry[5].resource", "Procedure"),
    ]
    assert "not current (clinicalStatus resolved)" in record.refused[0].reason
    assert "'Zorblaxiflam 10 mg' is not in bont's list of medicines" in record.refused[1].reason
    report = import_bundle(_registered(), record, TODAY)
    added, refused = Outcome.ADDED, Outcome.REFUSED
    assert [e.outcome for e in report.entries] == [added, refused, added, refused, refused]


def test_the_source_comes_from_the_option_else_the_bundle_else_the_identifier(knowledge: KnowledgeBase) -> None:
    assert _read(knowledge, BUNDLE, source="Clinic B").administrations[0].source == "Clinic B"
    assert _read(knowledge, BUNDLE).administrations[0].source == SOURCE
    bundle = _bundle()
    del bundle["meta"]
    assert _read(knowledge, bundle).administrations[0].source == f"{SOURCE}/medication-administration"
    bundle = _bundle(identifier=None)
    del bundle["meta"]
    (refused,) = _read(knowledge, bundle).refused
    assert "the sending system is not named" in refused.reason


def _with_bont_mrn(mrn: str = "LOCAL-7", **patient: Any) -> dict[str, Any]:
    """The fixture bundle with the patient under this clinic's MRN (bont's MRN system), ``patient`` changed."""
    bundle = copy.deepcopy(BUNDLE)
    resource = bundle["entry"][0]["resource"]
    resource["identifier"] = [{"system": MRN_SYSTEM, "value": mrn}]
    resource.update(patient)
    return bundle


def test_the_patient_is_matched_by_this_clinics_mrn_else_by_name_and_birth_date(knowledge: KnowledgeBase) -> None:
    by_mrn = FakeOutsideHistory()
    by_mrn.register("LOCAL-7", "OUTSIDE", "Someone", date(1980, 4, 2))  # the family name in another case
    assert import_bundle(by_mrn, _read(knowledge, _with_bont_mrn()), TODAY).patient is Outcome.MATCHED
    # Another hospital's MRN, typed MR, is not this clinic's: the patient on file under it is someone else.
    by_name = FakeOutsideHistory()
    by_name.register("AH-0001", "Someone", "Else", date(1980, 4, 2))
    by_name.register("LOCAL-7", "Outside", "Fictional", date(1980, 4, 2))
    report = import_bundle(by_name, _read(knowledge, BUNDLE), TODAY)
    assert (report.patient, report.chart_key, len(by_name.patients)) == (Outcome.MATCHED, "key-2", 2)
    # A record of another bont, under an MRN no one here has, registers its patient.
    new = FakeOutsideHistory()
    assert import_bundle(new, _read(knowledge, _with_bont_mrn("BONT-9")), TODAY).patient is Outcome.ADDED
    assert new.patients[1]["mrn"] == "BONT-9"


@pytest.mark.parametrize(
    "patient",
    [{"birthDate": "1979-01-01"}, {"name": [{"family": "Else", "given": ["Fictional"]}]}, {"birthDate": None}],
)
def test_a_record_whose_patient_is_not_the_one_on_file_under_the_mrn_is_refused_whole(
    knowledge: KnowledgeBase, patient: dict[str, Any]
) -> None:
    records = _registered()
    bundle = _with_bont_mrn(**patient)
    bundle["entry"][0]["resource"] = {k: v for k, v in bundle["entry"][0]["resource"].items() if v is not None}
    with pytest.raises(ImportRefusedError) as refused:
        import_bundle(records, _read(knowledge, bundle), TODAY)
    assert str(refused.value) == (
        "entry[0].resource: the patient of this record is not the one on file under that MRN"
    )  # one neutral refusal: no MRN, name or birth date repeated, none told apart
    assert not records.doses
    assert not records.terms


def test_an_ambiguous_or_unregistered_patient_refuses_the_whole_bundle(knowledge: KnowledgeBase) -> None:
    twins = FakeOutsideHistory()
    twins.register("LOCAL-1", "Outside", "Fictional", date(1980, 4, 2))
    twins.register("LOCAL-2", "Outside", "Fictional", date(1980, 4, 2))
    with pytest.raises(ImportRefusedError, match="2 patients have this name and birth date") as refused:
        import_bundle(twins, _read(knowledge, BUNDLE), TODAY)
    assert refused.value.field == "entry[0].resource"
    # Never registered under another hospital's MRN: the clinic registers the patient first.
    empty = FakeOutsideHistory()
    with pytest.raises(ImportRefusedError, match="register the patient first") as refused:
        import_bundle(empty, _read(knowledge, BUNDLE), TODAY)
    assert "AH-0001" not in str(refused.value)
    assert not empty.patients


# -- a dose is counted once


def test_a_dose_imported_wrongly_is_withdrawn_and_stays_withdrawn_when_imported_again(
    knowledge: KnowledgeBase,
) -> None:
    records = _registered()
    (dose_id,) = [e.dose_id for e in import_bundle(records, _read(knowledge, BUNDLE), TODAY).added if e.dose_id]
    with pytest.raises(FieldError, match="give the reason"):
        withdraw_outside_dose(records, dose_id, "  ")
    withdraw_outside_dose(records, dose_id, "another patient's dose", "dr-fictional")
    ((_, stored),) = records.doses.values()
    assert stored.withdrawn
    with pytest.raises(FieldError, match="already withdrawn"):
        withdraw_outside_dose(records, dose_id, "again")
    with pytest.raises(FieldError, match="no dose given elsewhere with this id"):
        withdraw_outside_dose(records, 99, "unknown")
    (again,) = [e for e in import_bundle(records, _read(knowledge, BUNDLE), TODAY).entries if e.dose_id]
    assert (again.outcome, again.dose_id) == (Outcome.MATCHED, dose_id)
    assert again.detail.endswith("withdrawn on file, it stays withdrawn and is not counted")
    assert len(records.doses) == 1


def test_a_dose_already_on_file_as_a_session_or_under_another_record_is_not_counted_twice(
    knowledge: KnowledgeBase,
) -> None:
    records = _registered()
    records.sessions.append((1, date(2026, 10, 19), "onabotulinumtoxinA", Decimal(300)))
    own = import_bundle(records, _read(knowledge, BUNDLE), TODAY).entries[0]
    assert (own.outcome, own.dose_id) == (Outcome.MATCHED, None)
    assert own.detail.endswith(": this clinic's own session, already counted")
    assert not records.doses

    records.sessions.clear()
    import_bundle(records, _read(knowledge, BUNDLE), TODAY)
    # The same dose sent by another system under its own identifier: refused, for a clinician to check.
    relayed = _bundle(identifier=[{"system": "https://registry.example", "value": "r-1"}])
    (refused,) = import_bundle(records, _read(knowledge, relayed), TODAY).refused
    assert refused.detail.endswith(
        f"may already be on file ({SOURCE}): check, and import it alone if it is another dose"
    )
    assert len(records.doses) == 1


def test_a_record_id_is_the_identifier_else_the_id_never_a_urn_uuid_full_url(knowledge: KnowledgeBase) -> None:
    bundle = _bundle(identifier=None)
    bundle["entry"][1]["fullUrl"] = "urn:uuid:5f0f9c4e-7d1e-4a8e-9b1c-0e2f6a3b4c5d"
    (dose,) = _read(knowledge, bundle).administrations
    assert dose.record_id == "MedicationAdministration/ma-9001"


def test_a_statement_restating_an_administration_is_matched_to_it_never_a_second_dose(
    knowledge: KnowledgeBase,
) -> None:
    bundle = copy.deepcopy(BUNDLE)
    administration = bundle["entry"][1]["resource"]
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms-9",
        "status": "completed",
        "medicationCodeableConcept": administration["medicationCodeableConcept"],
        "subject": {"reference": "Patient/ah-p1"},
        "derivedFrom": [{"reference": "MedicationAdministration/ma-9001"}],
        "effectiveDateTime": "2026-10-19",
        "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 300, "unit": "U"}}]}],
    }
    bundle["entry"].append({"resource": statement})
    record = _read(knowledge, bundle)
    assert len(record.administrations) == 1
    report = import_bundle(_registered(), record, TODAY)
    (restated,) = [e for e in report.entries if e.path == "entry[5].resource"]
    assert (restated.outcome, restated.detail) == (
        Outcome.MATCHED,
        "restates the MedicationAdministration at entry[1].resource: one dose, read there",
    )
    # A statement over several days is not one dose.
    del statement["derivedFrom"], statement["effectiveDateTime"]
    statement["effectivePeriod"] = {"start": "2026-10-19", "end": "2026-10-26"}
    (spans,) = [r for r in _read(knowledge, bundle).refused if r.path == "entry[5].resource"]
    assert spans.reason == "BOTOX: the statement spans more than one day, and one dose has one day"


# -- the check and the chart count what was given elsewhere

ELSEWHERE = Administration(date(2026, 10, 19), "onabotulinumtoxinA", None, Decimal(300), source=SOURCE)


def _check(knowledge: KnowledgeBase, product: str, units: int, *history: Administration) -> dict[str, str]:
    plan = SessionPlan(product, "chronic-migraine", total_units=Decimal(units))
    request = CheckRequest(TODAY, Patient(birth_date=date(1980, 4, 2)), plan, history=history)
    return {f.code: f"{f.severity}: {f.message}" for f in check(knowledge, request).findings}


def test_a_dose_given_elsewhere_counts_in_the_cumulative_limit_and_says_so(knowledge: KnowledgeBase) -> None:
    findings = _check(knowledge, "onabotulinumtoxinA", 150, ELSEWHERE)
    assert findings["cumulative-dose-exceeds-maximum"] == (
        "block: 300 U of BOTOX in the last 3 months plus 150 U planned = 450 U, above the maximum of 400 U in any "
        f"3 months; given elsewhere ({SOURCE}), 2026-10-19: 300 U BOTOX"
    )
    # An unknown indication counts in all indications' limits and, as if for it, in chronic migraine's interval.
    assert findings["retreatment-interval-too-short"].startswith(
        f"warn: the last BOTOX session was 42 days ago (given elsewhere ({SOURCE}), 2026-10-19: 300 U BOTOX, "
        "indication not given: counted as if for chronic migraine)"
    )
    assert "unrecognized-term" not in findings


def test_another_toxin_given_elsewhere_warns_on_its_own_units(knowledge: KnowledgeBase) -> None:
    dysport = Administration(date(2026, 11, 2), "abobotulinumtoxinA", None, Decimal(500), source=SOURCE)
    findings = _check(knowledge, "onabotulinumtoxinA", 155, dysport)
    assert findings["other-botulinum-toxin-recently"].startswith(
        f"warn: 500 U of DYSPORT on 2026-11-02 (indication not given), given elsewhere ({SOURCE}) (28 days ago)"
    )
    assert "cumulative-dose-exceeds-maximum" not in findings


def test_the_chart_lists_doses_given_elsewhere(knowledge: KnowledgeBase) -> None:
    own = Administration(date(2026, 9, 1), "onabotulinumtoxinA", "chronic-migraine", Decimal(155))
    with_reason = Administration(date(2026, 8, 1), "onabotulinumtoxinA", "cervical-dystonia", Decimal(100), source="B")
    listed = given_elsewhere(knowledge, (with_reason, own, ELSEWHERE))
    assert [(d.on, d.brand, d.indication, d.units, d.source) for d in listed] == [
        (date(2026, 10, 19), "BOTOX", None, Decimal(300), SOURCE),
        (date(2026, 8, 1), "BOTOX", "Cervical dystonia", Decimal(100), "B"),
    ]
    # The gauge of BOTOX's 3-month window counts the dose given elsewhere with the clinic's own.
    window = gauges(knowledge, Patient(birth_date=date(1980, 4, 2)), (own, ELSEWHERE), TODAY)
    assert [(g.brand, g.used, g.maximum) for g in window if g.window == "3 months"] == [
        ("BOTOX", Decimal(455), Decimal(400))
    ]


def test_findings_about_an_interval_or_a_same_day_dose_name_the_dose_given_elsewhere(knowledge: KnowledgeBase) -> None:
    migraine = Administration(date(2026, 10, 19), "onabotulinumtoxinA", "chronic-migraine", Decimal(155), source="B")
    interval = _check(knowledge, "onabotulinumtoxinA", 155, migraine)["retreatment-interval-too-short"]
    assert "(2026-10-19, BOTOX, given elsewhere (B))" in interval
    xeomin = Administration(TODAY, "incobotulinumtoxinA", None, Decimal(300), source="B")
    session = _check(knowledge, "incobotulinumtoxinA", 150, xeomin)["session-dose-exceeds-maximum"]
    assert session.endswith(
        "with 300 U already given today is above XEOMIN's per-session maximum of 400 U; given "
        "elsewhere (B), 2026-11-30: 300 U XEOMIN"
    )


def test_the_site_doses_of_one_outside_session_are_one_dose_of_their_summed_units(knowledge: KnowledgeBase) -> None:
    bundle = copy.deepcopy(BUNDLE)
    procedure = {
        "resourceType": "Procedure",
        "id": "s-1",
        "status": "completed",
        "subject": {"reference": "Patient/ah-p1"},
    }
    bundle["entry"].append({"resource": procedure})
    first = bundle["entry"][1]["resource"]
    first["partOf"] = [{"reference": "Procedure/s-1"}]
    second = copy.deepcopy(first) | {"id": "ma-9002", "identifier": [{"system": SOURCE, "value": "ma-9002"}]}
    second["dosage"]["dose"]["value"] = 50
    bundle["entry"].append({"resource": second})
    record = _read(knowledge, bundle)
    assert not record.refused  # the Procedure is read as the doses' session
    (dose,) = record.administrations
    assert (dose.units, dose.record_id, dose.also) == (
        Decimal(350),
        "Procedure/s-1 onabotulinumtoxinA 2026-10-19",
        ("entry[6].resource",),
    )
    report = import_bundle(_registered(), _read(knowledge, bundle), TODAY)
    (summed,) = [e for e in report.entries if e.resource == "MedicationAdministration"]  # one dose, counted once
    assert (summed.path, summed.outcome, summed.also) == ("entry[1].resource", Outcome.ADDED, ("entry[6].resource",))
    assert summed.detail.endswith("; the 2 site entries of one session, summed")
    assert len(report.added) == 4


# -- the weight measured elsewhere


def _weighed(**quantity: Any) -> dict[str, Any]:
    """The fixture bundle with a body weight Observation of 2026-10-19 (``quantity`` replaces its value)."""
    bundle: dict[str, Any] = copy.deepcopy(BUNDLE)
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": "Patient/ah-p1"},
        "effectiveDateTime": "2026-10-19T08:30:00+01:00",
        "valueQuantity": quantity or {"value": Decimal("64.25"), "unit": "kg", "system": UCUM, "code": "kg"},
    }
    bundle["entry"].append({"resource": observation})
    return bundle


def test_a_body_weight_in_kg_is_added_once_then_matched_and_a_reweigh_is_added(knowledge: KnowledgeBase) -> None:
    records = _registered()
    report = import_bundle(records, _read(knowledge, _weighed()), TODAY)
    (weight,) = [e for e in report.entries if e.resource == "Observation"]
    assert (weight.path, weight.outcome) == ("entry[5].resource", Outcome.ADDED)
    assert weight.detail == "weight 64.2 kg on 2026-10-19 (sent as 64.25 kg)"  # kept to 0.1 kg, as the chart
    again = import_bundle(records, _read(knowledge, _weighed()), TODAY)
    assert {e.outcome for e in again.entries} == {Outcome.MATCHED}
    reweigh = import_bundle(records, _read(knowledge, _weighed(value=65, unit="kg")), TODAY)
    assert [e.outcome for e in reweigh.entries if e.resource == "Observation"] == [Outcome.ADDED]
    assert records.weights == {1: [(date(2026, 10, 19), Decimal("64.2")), (date(2026, 10, 19), Decimal(65))]}


@pytest.mark.parametrize(
    ("quantity", "reason"),
    [
        ({"value": 141, "unit": "lb", "system": UCUM, "code": "[lb_av]"}, "the weight is in [lb_av], not in kg"),
        ({"value": 64000, "unit": "g", "system": UCUM, "code": "g"}, "the weight is in g, not in kg"),
        ({"value": 0, "unit": "kg"}, "the weight must be 0.3 to 500 kg"),
    ],
)
def test_a_weight_in_another_unit_or_out_of_range_is_refused_never_converted(
    knowledge: KnowledgeBase, quantity: dict[str, Any], reason: str
) -> None:
    record = _read(knowledge, _weighed(**quantity))
    assert not record.weights
    (refused,) = record.refused
    assert (refused.path, refused.reason) == ("entry[5].resource.valueQuantity", reason)
    other = _weighed()
    other["entry"][5]["resource"]["code"]["coding"][0]["code"] = "8302-2"  # body height: not imported
    (height,) = _read(knowledge, other).refused
    assert "bont imports no Observation but a body weight" in height.reason
