"""The FHIR R4 export: a hand-built record mapped to resources that the R4B models accept, with the dose bound to
its product's Medication, the site coded with its side, references that resolve, the same output every time; the
use cases over the in-memory fakes (filters, the Bundle, the bulk NDJSON files); and the de-identified export,
which holds no name, MRN, birth date or real date."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.bundle import Bundle

from bont.domain.knowledge import KnowledgeBase
from bont.domain.outcomes import HeadacheDiaryDay, PainFeature, Score
from bont.domain.safety import Patient
from bont.interop.fhir import Deidentifier, R4Mapping
from bont.interop.fhir.export import bundle, patient_resources, source_of
from bont.services.clock import FixedClock
from bont.services.fhir_exchange import ExportedSession, FhirExchange, FhirExportError, FoundResource, PatientExport
from bont.services.inventory import NewLot
from bont.services.outcome_ports import StoredOutcome
from bont.services.outcomes import save_diary_day
from bont.services.patients import (
    AdverseEventEntry,
    AuditEntry,
    NewPatient,
    PatientHeader,
    PatientRecord,
    SessionEntry,
    WeightEntry,
)
from bont.services.ports import UnknownPatientError
from bont.services.sessions import GivenSite, PatientRef, SessionDetail, SessionDraw, SessionSummary
from tests.fakes import (
    FakeClinic,
    FakeInventory,
    FakeOutcomeClinic,
    FakeOutcomeRecords,
    FakePatientCharts,
    FakePatientRegistry,
    FakeRegistry,
    FakeSessionBook,
    FakeSessionRecords,
    FakeStockroom,
)
from tests.fhir_bundles import references_in

KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14: a clinic's day starts while UTC's is still the day before
HEADER = PatientHeader("FICT-0042", "Ada", "Fictional", date(1961, 5, 17), "female", False)
PATIENT = PatientRef(1, "FICT-0042", "Ada", "Fictional", date(1961, 5, 17))


def _session(
    session_id: int,
    on: date,
    product: str,
    indication: str,
    sites: tuple[tuple[str, str, str], ...],
    lots: tuple[tuple[int, str], ...],
    guidance: str = "",
) -> ExportedSession:
    given_at = datetime.combine(on, time(9, 40), UTC)
    given = tuple(GivenSite(muscle, side, Decimal(units), None) for muscle, side, units in sites)
    total = sum((site.units for site in given), Decimal(0))
    summary = SessionSummary(session_id, on, product, indication, "label", total, Decimal(0), "ok", "")
    draws = tuple(SessionDraw(vial, "reconstituted", lot, date(2027, 6, 30), total) for vial, lot in lots)
    detail = SessionDetail(summary, PATIENT, "dr-fake", "", "", given, draws, (), (), guidance)
    entry = SessionEntry(
        session_id, on, product, indication, total, "ok", "", "", False,
        recorded_by="dr-fake", given_by="nurse-fake", given_at=given_at,
    )  # fmt: skip
    sizes = {vial: Decimal(200 if product == "onabotulinumtoxinA" else 500) for vial, _ in lots}
    created = AuditEntry(given_at, "dr-fake", f"session {session_id} ({on:%Y-%m-%d}, {indication})", "Created")
    return ExportedSession(entry, detail, sizes, created)


def _record() -> PatientExport:
    migraine = _session(
        7, date(2026, 3, 2), "onabotulinumtoxinA", "chronic-migraine",
        (("frontalis", "left", "10"), ("frontalis", "right", "10"), ("procerus", "", "5")), ((3, "LOT-A1"),),
    )  # fmt: skip
    dystonia = _session(
        9, date(2026, 6, 1), "abobotulinumtoxinA", "cervical-dystonia",
        (("trapezius", "left", "250"), ("sternocleidomastoid", "right", "150")), ((11, "LOT-D1"), (12, "LOT-D2")),
        guidance="emg",
    )  # fmt: skip
    record = PatientRecord(
        header=HEADER,
        weights=(),
        conditions=("G43.709", "G24.3", "shingles"),
        medications=("propranolol", "warfarin"),
        allergies=("latex",),
        reproductive_statuses=(),
        adverse_events=(
            AdverseEventEntry("ptosis", date(2026, 3, 9), "mild", 7, "recovered/resolved", id=4),
            AdverseEventEntry("dysphagia", date(2026, 6, 5), "moderate", 9, "", id=5, withdrawn_reason="wrong chart"),
        ),
        sessions=(migraine.entry, dystonia.entry),
    )
    items = tuple((f"item-{n}", 1) for n in range(1, 10))
    outcomes = (
        StoredOutcome("depression", "phq-9", date(2026, 3, 1), None, Score("phq-9", Decimal(9), items=items), id=21),
        StoredOutcome("chronic-migraine", "hit-6", date(2026, 3, 1), None, Score("hit-6", Decimal(62)), id=22),
        StoredOutcome(
            "chronic-migraine",
            "headache-days",
            date(2026, 3, 1),
            date(2026, 2, 2),
            Score("headache-days", Decimal("16.5")),
            id=23,
        ),
    )
    diaries = {
        "headache": (HeadacheDiaryDay(date(2026, 2, 3), 300, frozenset({PainFeature.PULSATING}), photophobia=True),)
    }
    return PatientExport(
        chart_key="k3y_of-Chart0042",
        record=record,
        current_conditions=("G43.709", "G24.3"),
        current_medications=("propranolol",),
        sessions=(migraine, dystonia),
        outcomes=outcomes,
        diaries=diaries,
        today=date(2026, 11, 30),
        zone=UTC,
    )


EXPORTED_ON = date(2027, 6, 10)  # more than a year after the record's last day: nothing is past the horizon
DATED_KEYS = ("performedDateTime", "effectiveDateTime", "date", "authored")


def _by_id(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{r['resourceType']}/{r['id']}": r for r in resources}


def test_every_resource_validates_and_every_reference_resolves_inside_the_bundle(knowledge: KnowledgeBase) -> None:
    resources = patient_resources(knowledge, _record())
    kinds = {r["resourceType"] for r in resources}
    assert kinds == {
        "Patient", "Condition", "AllergyIntolerance", "MedicationStatement", "Medication", "Procedure",
        "MedicationAdministration", "Provenance", "Observation", "QuestionnaireResponse", "AdverseEvent",
    }  # fmt: skip
    for kind in ("collection", "searchset"):
        document = bundle(resources, kind, "k3y_of-Chart0042-record")
        Bundle.model_validate(document)
        assert all(e["fullUrl"].startswith("https://bont.example/fhir/") for e in document["entry"])
    held = _by_id(resources)
    assert all(reference in held for reference in references_in(resources))
    patient = resources[0]
    assert patient["id"] == "k3y.of-Chart0042"  # the chart key; FHIR ids hold no "_"
    assert patient["identifier"][0]["value"] == "FICT-0042"
    assert "FICT-0042" not in json.dumps(resources[1:])  # the MRN is in the Patient's identifier alone


def test_each_site_is_an_administration_of_its_products_units_at_its_coded_site(knowledge: KnowledgeBase) -> None:
    held = _by_id(patient_resources(knowledge, _record()))
    left = held["MedicationAdministration/session-7-site-1"]
    assert left["dosage"]["dose"] == {
        "value": 10,
        "unit": "U",
        "system": "http://unitsofmeasure.org",
        "code": "[USP'U]",
    }
    assert left["dosage"]["route"]["text"] == "intramuscular"
    assert left["dosage"]["site"]["text"] == "Frontalis, left"
    [side] = left["dosage"]["site"]["extension"]
    assert side["valueCodeableConcept"]["coding"][0]["system"] == "http://snomed.info/sct"
    assert left["partOf"] == [{"reference": "Procedure/session-7"}]
    assert left["identifier"] == [{"system": "https://bont.example/fhir/sid/session-site", "value": "7-1"}]
    trapezius = held["MedicationAdministration/session-9-site-1"]["dosage"]["site"]
    assert trapezius["coding"][0]["code"] == "31764008"
    assert trapezius["text"] == "Trapezius, left"
    assert "extension" not in held["MedicationAdministration/session-7-site-3"]["dosage"]["site"]  # no side
    # One lot: the lot's Medication, with its batch; two lots: the product's, the lots on the Procedure.
    botox = held[left["medicationReference"]["reference"]]
    assert botox["batch"] == {"lotNumber": "LOT-A1", "expirationDate": "2027-06-30"}
    assert "http://hl7.org/fhir/sid/ndc" in {c["system"] for c in botox["code"]["coding"]}
    dysport = held[held["MedicationAdministration/session-9-site-2"]["medicationReference"]["reference"]]
    assert dysport["id"] == "medication-abobotulinumtoxinA"
    assert "batch" not in dysport
    assert len(held["Procedure/session-9"]["usedReference"]) == 2
    # Units of two products are never summed: each dose names its own product's Medication, and no total exists.
    for reference, resource in held.items():
        if resource["resourceType"] == "MedicationAdministration":
            product = "onabotulinumtoxinA" if reference.startswith("MedicationAdministration/session-7") else "abo"
            assert product in resource["medicationReference"]["reference"]
    assert "415" not in json.dumps([r for r in held.values() if r["resourceType"] != "Observation"])


def test_the_procedure_carries_its_codes_guidance_reason_and_provenance(knowledge: KnowledgeBase) -> None:
    held = _by_id(patient_resources(knowledge, _record()))
    procedure = held["Procedure/session-9"]
    assert procedure["performedDateTime"] == "2026-06-01T09:40:00+00:00"
    assert procedure["usedCode"][0]["coding"][0]["code"] == "95874"
    assert held[procedure["reasonReference"][0]["reference"]]["code"]["coding"][0]["code"] == "G24.3"
    assert {c["system"] for c in procedure["code"]["coding"]} >= {"http://www.ama-assn.org/go/cpt"}
    provenance = held["Provenance/provenance-session-9"]
    assert provenance["recorded"] == "2026-06-01T09:40:00+00:00"
    assert len(provenance["target"]) == 3
    # Withdrawn records are not exported; the adverse event points at the suspected session.
    assert "AdverseEvent/adverse-event-5" not in held
    assert held["AdverseEvent/adverse-event-4"]["suspectEntity"][0]["instance"] == {"reference": "Procedure/session-7"}
    # Stopped and resolved: a medicine no longer taken, a condition no longer current.
    statuses = {
        r["medicationCodeableConcept"]["text"]: r["status"] for r in held.values() if "medicationCodeableConcept" in r
    }
    assert statuses == {"propranolol": "active", "warfarin": "stopped"}


def test_a_licensed_instrument_is_exported_as_its_total_alone_and_loinc_is_used_where_known(
    knowledge: KnowledgeBase,
) -> None:
    held = _by_id(patient_resources(knowledge, _record()))
    phq9, hit6, days = held["Observation/outcome-21"], held["Observation/outcome-22"], held["Observation/outcome-23"]
    assert phq9["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "44261-6",
        "display": phq9["code"]["text"],
    }
    assert len(phq9["component"]) == 9
    assert hit6["code"]["coding"][0]["system"] == "https://bont.example/fhir/CodeSystem/instrument"
    assert hit6["valueQuantity"] == {"value": 62}
    assert "component" not in hit6
    assert days["effectivePeriod"] == {"start": "2026-02-02", "end": "2026-03-01"}
    assert days["valueQuantity"]["value"] == 16.5


def test_each_weight_is_a_body_weight_observation_and_a_same_day_reweigh_stays_last(knowledge: KnowledgeBase) -> None:
    exported = _record()
    weights = (
        WeightEntry(date(2026, 3, 2), Decimal("64.0")),
        WeightEntry(date(2026, 3, 2), Decimal("65.5")),  # a reweigh the same day: the chart reads it
        WeightEntry(date(2026, 3, 2), Decimal("64.0")),  # and back: the day's weight is 64.0 again
        WeightEntry(date(2026, 6, 1), Decimal("63.4")),
    )
    record = replace(exported, record=replace(exported.record, weights=weights))
    measured = [r for r in patient_resources(knowledge, record) if r["id"].startswith("k3y.of-Chart0042-weight-")]
    assert [(r["effectiveDateTime"], r["valueQuantity"]["value"]) for r in measured] == [
        ("2026-03-02", 65.5),
        ("2026-03-02", 64),
        ("2026-06-01", 63.4),
    ]
    first = measured[1]
    assert first["code"]["coding"] == [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}]
    assert first["category"][0]["coding"][0]["code"] == "vital-signs"
    assert first["valueQuantity"] == {"value": 64, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}
    # The same id on every export; a reader of the id finds the patient it belongs to.
    assert source_of("Observation", first["id"]) == ("patient", "k3y_of-Chart0042")
    bare = [r for r in patient_resources(replace(knowledge, terminology=None), record) if "weight" in r["id"]]
    assert bare[0]["code"] == {"text": "Body weight"}  # no code in the knowledge base: the text alone
    # De-identified, the day of a weight moves earlier with the patient's other dates.
    hidden = Deidentifier().deidentify(measured, EXPORTED_ON)
    assert all(r["effectiveDateTime"] < "2026-03-02" and r["valueQuantity"]["unit"] == "kg" for r in hidden[:2])


def test_two_exports_of_the_same_record_are_identical(knowledge: KnowledgeBase) -> None:
    first = json.dumps(bundle(patient_resources(knowledge, _record()), "collection", "k"))
    assert json.dumps(bundle(patient_resources(knowledge, _record()), "collection", "k")) == first


def test_a_code_missing_from_the_knowledge_base_leaves_the_text_and_the_resource_valid(
    knowledge: KnowledgeBase,
) -> None:
    bare = replace(knowledge, terminology=None)
    held = _by_id(patient_resources(bare, _record()))
    dosage = held["MedicationAdministration/session-7-site-1"]["dosage"]
    assert dosage["dose"] == {"value": 10, "unit": "U"}
    assert "route" not in dosage
    assert dosage["site"]["extension"][0]["valueCodeableConcept"] == {"text": "left"}


def test_a_deidentified_export_holds_no_name_mrn_birth_date_or_real_date(knowledge: KnowledgeBase) -> None:
    resources = patient_resources(knowledge, _record())
    deidentifier = Deidentifier()
    hidden = deidentifier.deidentify(resources, EXPORTED_ON)
    text = json.dumps(hidden)
    for identifying in ("FICT-0042", "Ada", "Fictional", "1961-05-17", "k3y", "LOT-A1"):
        assert identifying not in text
    assert {r["resourceType"] for r in hidden} == {r["resourceType"] for r in resources} - {"Provenance"}
    assert hidden[0]["birthDate"] == "1961"
    held = _by_id(hidden)
    assert all(reference in held for reference in references_in(hidden))
    # Every date moved earlier by the same days, so the two sessions stay 91 days apart.
    days = sorted(date.fromisoformat(r["performedDateTime"][:10]) for r in hidden if r["resourceType"] == "Procedure")
    assert days[0] < date(2026, 3, 2)
    assert (days[1] - days[0]).days == 91
    [event] = [r for r in hidden if r["resourceType"] == "AdverseEvent"]
    assert (date(2026, 3, 2) - days[0]) == (date(2026, 3, 9) - date.fromisoformat(event["date"]))
    # A patient older than 89 has no birth date at all; every export draws new pseudonyms.
    old = deidentifier.deidentify(resources, date(2051, 6, 1))
    assert "birthDate" not in old[0]
    assert Deidentifier().deidentify(resources, EXPORTED_ON)[0]["id"] != hidden[0]["id"]


def test_a_deidentified_export_ends_at_its_horizon_and_leaves_out_a_patient_with_nothing_dated_by_then(
    knowledge: KnowledgeBase,
) -> None:
    resources = patient_resources(knowledge, _record())
    # Made on the record's last day, an export holds a prefix of the record, moved, and nothing after its horizon
    # (365 days before it): each draw cuts the patient's records at a real day of its own in the last year.
    on = date(2026, 6, 5)
    horizon = on - timedelta(days=365)
    for _ in range(40):
        hidden = Deidentifier().deidentify(resources, on)
        days = [date.fromisoformat(r[key][:10]) for r in hidden for key in DATED_KEYS if key in r]
        assert all(day <= horizon for day in days)
        assert all(len(r[key]) == 10 for r in hidden for key in DATED_KEYS if key in r)  # a day, never a time
        assert all(reference in _by_id(hidden) for reference in references_in(hidden))  # what is kept links up
    # Made the day after the patient's first record, nothing dated can be kept: the patient is left out whole.
    assert Deidentifier().deidentify(resources, date(2026, 2, 3)) == []


@pytest.fixture
def exchange(knowledge: KnowledgeBase) -> FhirExchange:
    """One patient across the fakes: a BOTOX session from one lot, an outcome."""
    registry, clinic, book, stockroom = FakeRegistry(), FakeClinic(), FakeSessionBook(), FakeStockroom()
    outcomes = FakeOutcomeClinic()
    new = NewPatient("FICT-0042", "Ada", "Fictional", date(1961, 5, 17), "female", conditions=("G43.709",))
    FakePatientRegistry(registry).add(new, date(2026, 1, 5))
    clinic.add_patient("FICT-0042", Patient(birth_date=new.birth_date, conditions=new.conditions))
    lot = NewLot("onabotulinumtoxinA", "LOT-A1", date(2027, 6, 30), Decimal(200), 1, date(2026, 1, 5))
    FakeInventory(stockroom).add_lot(lot)
    sites, lots = (("frontalis", "left", "10"),), ((1, "LOT-A1"),)
    session = _session(1, date(2026, 3, 2), "onabotulinumtoxinA", "chronic-migraine", sites, lots)
    ref = book.add_patient("FICT-0042", new.birth_date)
    book.sessions[1] = replace(session.detail, patient=ref)
    # Given at 10:00 on 2 March at a clinic on UTC+14, which is still 1 March in UTC.
    registry.sessions["FICT-0042"] = [replace(session.entry, given_at=datetime(2026, 3, 1, 20, 0, tzinfo=UTC))]
    patient_id = outcomes.add_patient("FICT-0042", new.birth_date)
    unticked = {"headache_minutes": "360", "features": ["pulsating"], "photophobia": "on", "acute_medication": ""}
    save_diary_day(FakeOutcomeRecords(outcomes), patient_id, "headache", date(2026, 2, 3), unticked, date(2026, 2, 4))
    outcomes.outcomes[patient_id] = [
        StoredOutcome(
            "chronic-migraine",
            "hit-6",
            date(2026, 5, 1),
            None,
            Score("hit-6", Decimal(58)),
            id=1,
            patient_id=patient_id,
        ),
        StoredOutcome(
            "chronic-migraine",
            "hit-6",
            date(2026, 6, 1),
            None,
            Score("hit-6", Decimal(50)),
            True,
            id=2,
            patient_id=patient_id,
        ),
        StoredOutcome(  # counted over four weeks of April
            "chronic-migraine",
            "headache-days",
            date(2026, 4, 28),
            date(2026, 4, 1),
            Score("headache-days", Decimal(9)),
            id=3,
            patient_id=patient_id,
        ),
    ]
    return FhirExchange(
        registry=FakePatientRegistry(registry),
        charts=FakePatientCharts(clinic),
        sessions=FakeSessionRecords(book),
        outcomes=FakeOutcomeRecords(outcomes),
        inventory=FakeInventory(stockroom),
        mapping=R4Mapping(knowledge),
        clock=FixedClock(datetime(2027, 6, 10, 12, 0, tzinfo=KIRITIMATI)),  # a de-identified export holds it all
    )


def test_the_patients_resources_are_filtered_by_type_and_clinical_date(exchange: FhirExchange) -> None:
    everything = exchange.patient_everything("chart-of-FICT-0042")
    assert everything["type"] == "searchset"
    assert everything["total"] == len(everything["entry"])
    given = exchange.patient_resources("chart-of-FICT-0042", "MedicationAdministration", date(2026, 3, 1))
    assert [r["id"] for r in given] == ["session-1-site-1"]
    assert exchange.patient_resources("chart-of-FICT-0042", "MedicationAdministration", date(2026, 3, 3)) == []
    measured = exchange.patient_resources("chart-of-FICT-0042", "Observation", date_to=date(2026, 12, 31))
    assert [r["id"] for r in measured] == ["outcome-3", "outcome-1"]  # the withdrawn measurement is not exported
    # A measurement of a period is found by any day of it, not only by the day it ends.
    april = exchange.patient_resources("chart-of-FICT-0042", "Observation", date(2026, 4, 10), date(2026, 4, 12))
    assert [r["id"] for r in april] == ["outcome-3"]
    with pytest.raises(UnknownPatientError):
        exchange.patient_everything("chart-of-nobody")
    # One resource by the id a search gave: its record and patient are found from the id alone.
    assert exchange.resource("MedicationAdministration", "session-1-site-1") == FoundResource("FICT-0042", given[0])
    assert exchange.resource("Observation", "outcome-1") == FoundResource("FICT-0042", measured[1])
    assert exchange.resource("Observation", "outcome-2") is None  # withdrawn
    assert exchange.resource("Patient", "chart-of-nobody") is None
    assert exchange.resource("Patient", "chart_of_FICT-0042") is None  # no FHIR id holds "_"


def test_a_moment_is_written_in_the_clinics_zone_so_its_first_ten_characters_are_the_clinics_day(
    exchange: FhirExchange,
) -> None:
    [given] = exchange.patient_resources("chart-of-FICT-0042", "MedicationAdministration")
    assert given["effectiveDateTime"] == "2026-03-02T10:00:00+14:00"  # 2026-03-01T20:00:00 in UTC
    assert exchange.patient_resources("chart-of-FICT-0042", "Procedure", date_to=date(2026, 3, 1)) == []


def test_diary_answers_are_typed_as_their_fields_not_the_text_they_are_stored_as(exchange: FhirExchange) -> None:
    [day] = exchange.patient_resources("chart-of-FICT-0042", "QuestionnaireResponse")
    answers = {item["linkId"]: item.get("answer") for item in day["item"]}
    assert answers == {
        "acute_medication": [{"valueString": "none"}],
        "aura_minutes": [{"valueInteger": 0}],
        "features": [{"valueString": "pulsating"}],
        "headache_minutes": [{"valueInteger": 360}],
        "nausea_or_vomiting": [{"valueBoolean": False}],  # stored as "False", which no longer reads as a yes
        "phonophobia": [{"valueBoolean": False}],
        "photophobia": [{"valueBoolean": True}],
    }


def test_a_bulk_export_writes_one_ndjson_file_per_type_and_refuses_a_folder_in_use(
    exchange: FhirExchange, tmp_path: Path
) -> None:
    counts = exchange.bulk_export(tmp_path / "out", deidentified=True)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert {o["type"]: o["count"] for o in manifest["output"]} == counts
    assert counts["MedicationAdministration"] == 1
    assert "Provenance" not in counts
    assert manifest["extension"] == {"https://bont.example/fhir/bulk-export/deidentified": True}
    lines = (tmp_path / "out" / "Patient.ndjson").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert "FICT-0042" not in lines[0]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # the temporary folder took its name
    with pytest.raises(FhirExportError, match="directory"):
        exchange.bulk_export(tmp_path / "out", deidentified=False)
    with pytest.raises(UnknownPatientError):
        exchange.bulk_export(tmp_path / "cohort", deidentified=False, mrns=["FICT-9999"])
    assert not (tmp_path / "cohort").exists()


def test_the_example_bundle_of_the_readme_validates_and_every_reference_resolves_inside_it(
    knowledge: KnowledgeBase,
) -> None:
    from bont.interop.fhir.read import read_bundle

    example = json.loads((Path(__file__).parents[2] / "examples" / "fhir-demo-patient.json").read_text("utf-8"))
    Bundle.model_validate(example)
    held = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in example["entry"]}
    referenced = set(references_in(example))
    assert referenced
    assert referenced <= held
    # What an importer reads of it: the four sessions of the fictional demo patient, each one dose of its day.
    record = read_bundle(example, knowledge)
    assert len(record.administrations) == 4
    assert {(dose.product, dose.units) for dose in record.administrations} == {("onabotulinumtoxinA", Decimal(100))}
