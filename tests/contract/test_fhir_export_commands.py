"""A patient's record leaves bont as FHIR R4 through ``bont fhir export`` and ``bont fhir bulk-export`` on real
SQLite and PostgreSQL databases (``tests/integration/test_background_runs.py`` runs this module once per engine):
the Bundle validates with the R4B models, every reference resolves inside it, the dose is tied to the lot's
Medication, and the de-identified bulk export holds no name, MRN or real date."""

from __future__ import annotations

import json
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle

from tests.contract.clinic import Clinic
from tests.fhir_bundles import references_in


def test_a_recorded_session_is_exported_as_a_valid_bundle_and_a_deidentified_bulk_export(
    clinic: Clinic, tmp_path: Path
) -> None:
    [vial] = clinic.receive_lot("onabotulinumtoxinA", "FICT-LOT-F", "200")
    reconstituted = ("lot", "reconstitute", str(vial), "--diluent-ml", "4", "--at", "2026-11-21T09:00")
    assert clinic.run("--as", "dr-fictional", *reconstituted).returncode == 0
    document = clinic.session_file("given", draws=[{"vial": vial, "units": 20}])
    assert clinic.run("--as", "dr-fictional", "session", "record", str(document)).returncode == 0
    reported = clinic.run(
        "adverse-event", "add", "--mrn", "FICT-0001", "--event", "ptosis", "--onset", "2026-11-25",
        "--severity", "mild", "--not-serious", "--session", str(clinic.sessions()[0]["id"]),
    )  # fmt: skip
    assert reported.returncode == 0, reported.stderr

    written = tmp_path / "record.json"
    exported = clinic.run("fhir", "export", "FICT-0001", "--output", str(written))
    assert exported.returncode == 0, exported.stderr
    assert "2 MedicationAdministration" in exported.stderr
    bundle = json.loads(written.read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    resources = {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in bundle["entry"]}
    references = [v for r in resources.values() for v in references_in(r)]
    assert references
    assert all(reference in resources for reference in references)
    [medication] = [r for r in resources.values() if r["resourceType"] == "Medication"]
    assert medication["batch"] == {"lotNumber": "FICT-LOT-F", "expirationDate": "2027-12-31"}
    given = [r for r in resources.values() if r["resourceType"] == "MedicationAdministration"]
    assert {r["dosage"]["dose"]["value"] for r in given} == {10}
    assert {r["medicationReference"]["reference"] for r in given} == {f"Medication/{medication['id']}"}
    [event] = [r for r in resources.values() if r["resourceType"] == "AdverseEvent"]
    assert event["suspectEntity"][0]["instance"]["reference"].startswith("Procedure/session-")
    # The same record exported twice is the same document (the import recognises what it holds by the ids).
    assert clinic.run("fhir", "export", "FICT-0001").stdout == written.read_text(encoding="utf-8")

    folder = tmp_path / "bulk"
    bulk = clinic.run("fhir", "bulk-export", str(folder), "--deidentified", "--json")
    assert bulk.returncode == 0, bulk.stderr
    assert json.loads(bulk.stdout)["counts"]["MedicationAdministration"] == 2
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert {o["type"] for o in manifest["output"]} >= {"Patient", "Procedure", "MedicationAdministration"}
    text = "".join(path.read_text(encoding="utf-8") for path in folder.glob("*.ndjson"))
    for identifying in ("FICT-0001", "Fictional", "1971-02-03", "FICT-LOT-F"):
        assert identifying not in text
    [procedure] = [json.loads(line) for line in (folder / "Procedure.ndjson").read_text(encoding="utf-8").splitlines()]
    assert procedure["performedDateTime"][:10] < "2026-11-21"  # moved earlier by the patient's own offset
    refused = clinic.run("fhir", "bulk-export", str(folder))
    assert refused.returncode == 2
    assert "not an empty folder" in refused.stderr
    unknown = clinic.run("fhir", "export", "FICT-9999")
    assert unknown.returncode == 2
    assert "FICT-9999" not in unknown.stderr


def test_a_record_exported_then_imported_into_an_empty_database_gives_the_check_the_same_history(
    clinic: Clinic, tmp_path: Path
) -> None:
    from datetime import date

    from bont.bootstrap import patient_charts
    from tests.contract.clinic import emptied

    changed = clinic.run(
        "patient", "update", "FICT-0001", "--date", "2026-07-01", "--add-condition", "G43.709",
        "--add-medication", "topiramate", "--add-allergy", "cow-milk-protein",
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    for day in ("2026-08-01", "2026-11-21"):
        document = clinic.session_file(day, date=day, at=f"{day}T10:00:00")
        recorded = clinic.run("--as", "dr-fictional", "session", "record", str(document))
        assert recorded.returncode == 0, recorded.stderr
    written = tmp_path / "record.json"
    assert clinic.run("fhir", "export", "FICT-0001", "--output", str(written)).returncode == 0
    today = date(2026, 11, 30)
    patient, history = patient_charts().chart("FICT-0001", today)

    emptied(tmp_path)
    imported = clinic.run("fhir", "import", str(written), "--json")
    assert imported.returncode == 0, imported.stderr
    again_patient, again = patient_charts().chart("FICT-0001", today)
    assert [(h.on, h.product, h.indication, h.units) for h in again] == [
        (h.on, h.product, h.indication, h.units) for h in history
    ]
    assert again_patient == patient, json.loads(imported.stdout)
