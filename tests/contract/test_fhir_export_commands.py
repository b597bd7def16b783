"""A patient's record leaves bont as FHIR R4 through ``bont fhir export`` and ``bont fhir bulk-export`` on real
SQLite and PostgreSQL databases (``tests/integration/test_background_runs.py`` runs this module once per engine):
the Bundle validates with the R4B models, every reference resolves inside it, the dose is tied to the lot's
Medication, and the de-identified bulk export holds no name, MRN or real date."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from tests.contract.clinic import Clinic
from tests.fhir_bundles import references_in


def _dates(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from _dates(item)
    elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}(T.*)?", value):
        yield value


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

    # A weight of long ago: always in a de-identified export, whose horizon is 365 days before it.
    weighed = clinic.run("patient", "update", "FICT-0001", "--date", "2024-03-04", "--weight-kg", "61.5")
    assert weighed.returncode == 0, weighed.stderr
    folder = tmp_path / "bulk"
    bulk = clinic.run("fhir", "bulk-export", str(folder), "--deidentified", "--json")
    assert bulk.returncode == 0, bulk.stderr
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert {o["type"] for o in manifest["output"]} >= {"Patient", "Observation"}
    text = "".join(path.read_text(encoding="utf-8") for path in folder.glob("*.ndjson"))
    for identifying in ("FICT-0001", "Fictional", "1971-02-03", "FICT-LOT-F"):
        assert identifying not in text
    # Every date moved earlier by the patient's own offset, and none after the horizon: the session of 21 November
    # is in the export only when the patient's secret last day is after it (odds of 9 in 365).
    horizon = date.fromisoformat(manifest["transactionTime"][:10]) - timedelta(days=365)
    resources = [json.loads(line) for path in folder.glob("*.ndjson") for line in path.read_text().splitlines()]
    days = [date.fromisoformat(v[:10]) for r in resources for v in _dates(r)]
    assert date(2024, 3, 4) - timedelta(days=365) <= min(days) < date(2024, 3, 4)
    assert max(days) <= horizon
    assert json.loads(bulk.stdout)["counts"].get("MedicationAdministration", 0) in (0, 2)
    refused = clinic.run("fhir", "bulk-export", str(folder))
    assert refused.returncode == 2
    assert "not an empty folder" in refused.stderr
    unknown = clinic.run("fhir", "export", "FICT-9999")
    assert unknown.returncode == 2
    assert "FICT-9999" not in unknown.stderr


def test_a_record_exported_then_imported_into_an_empty_database_gives_the_check_the_same_history(
    clinic: Clinic, tmp_path: Path
) -> None:
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
