"""``bont fhir import`` on the database: a bundle from "another hospital" with 300 U BOTOX given six weeks ago,
for a patient the clinic registered, makes a 150 U chronic migraine plan block on BOTOX's cumulative limit, the
chart shows the outside dose, a second import matches everything, and the dose withdrawn (``bont fhir
withdraw-outside``) no longer counts; the clinic's own export read back adds nothing; a malformed bundle (or one
with a key given twice) stores nothing. The commands run in process; ``tests/integration/test_background_runs.py``
runs this module once per engine."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from tests.contract.clinic import Clinic

BUNDLE = Path(__file__).parents[1] / "fixtures" / "fhir" / "another-hospital.json"
SOURCE = "https://ehr.another-hospital.example"
SIX_WEEKS_LATER = date(2026, 11, 30)  # the outside dose was given on 2026-10-19


def test_botox_given_at_another_hospital_blocks_a_plan_on_the_cumulative_limit(clinic: Clinic) -> None:
    from django.test import Client

    from bont.bootstrap import access_log, patient_registry
    from bont.clinic import models

    # Another hospital's MRN is not this clinic's: its patient is registered here first, then matched by name.
    unregistered = clinic.run("fhir", "import", str(BUNDLE))
    assert unregistered.returncode == 2
    assert "register the patient first" in unregistered.stderr
    assert clinic.run(
        "patient", "add", "--mrn", "LOCAL-0042", "--given-name", "Fictional", "--family-name", "Outside",
        "--birth-date", "1980-04-02", "--sex", "female",
    ).returncode == 0  # fmt: skip
    imported = clinic.ok("fhir", "import", str(BUNDLE))
    assert imported["patient"] == "matched"
    assert [entry["resource"] for entry in imported["added"]] == [
        "MedicationAdministration",
        "Condition",
        "AllergyIntolerance",
        "MedicationStatement",
    ]
    assert (imported["matched"], imported["refused"]) == ([], [])

    blocked = clinic.run(
        "patient", "check", "LOCAL-0042", "--indication", "chronic-migraine", "--product", "BOTOX", "--units", "150",
        "--on", SIX_WEEKS_LATER.isoformat(), "--json",
    )  # fmt: skip
    assert blocked.returncode == 3
    report = json.loads(blocked.stdout)
    (finding,) = [f for f in report["findings"] if f["code"] == "cumulative-dose-exceeds-maximum"]
    assert finding["severity"] == "block"
    assert finding["message"] == (
        "300 U of BOTOX in the last 3 months plus 150 U planned = 450 U, above the maximum of 400 U in any 3 months; "
        f"given elsewhere ({SOURCE}), 2026-10-19: 300 U BOTOX"
    )

    # The chart lists the outside dose as given elsewhere, beside the clinic's own sessions.
    patient = models.Patient.objects.get(mrn="LOCAL-0042")
    browser = Client(HTTP_HOST="localhost")  # a host every clinic serves
    browser.force_login(models.get_user_model().objects.get(username="dr-fictional"))
    page = browser.get(f"/patients/{patient.chart_key}/").content.decode()
    assert "Given elsewhere" in page
    assert '<td>2026-10-19</td><td>BOTOX</td><td>Cervical dystonia</td><td class="num">300</td>' in page
    assert f"given elsewhere ({SOURCE})" in page

    again = clinic.ok("fhir", "import", str(BUNDLE))
    assert again["patient"] == "matched"
    assert (len(again["added"]), len(again["matched"]), len(again["refused"])) == (0, 4, 0)
    assert models.ExternalAdministration.objects.count() == 1
    assert models.PatientCondition.objects.filter(patient=patient).count() == 1

    # Imported for the wrong patient: withdrawn, kept, no longer counted, and left withdrawn by a re-import.
    dose_id = imported["added"][0]["id"]
    withdrawn = clinic.run("--as", "dr-fictional", "fhir", "withdraw-outside", str(dose_id), "--reason", "not hers")
    assert withdrawn.returncode == 0, withdrawn.stderr
    assert clinic.run("fhir", "withdraw-outside", str(dose_id), "--reason", "again").returncode == 2
    allowed = clinic.run(*blocked.args[1:])
    assert "cumulative-dose-exceeds-maximum" not in allowed.stdout
    row = models.ExternalAdministration.objects.get(pk=dose_id)
    assert row.withdrawn_reason == "not hers"
    (audited,) = [e for e in patient_registry().audit_trail("LOCAL-0042") if e.what.endswith(" withdrawn")]
    assert (audited.what, audited.who) == (
        f"dose given elsewhere {dose_id} (2026-10-19, 300.00 U onabotulinumtoxinA) withdrawn",
        "dr-fictional",
    )
    assert clinic.ok("fhir", "import", str(BUNDLE))["matched"][0]["id"] == dose_id
    assert models.ExternalAdministration.objects.get(pk=dose_id).withdrawn_reason == "not hers"
    assert [e.target for e in access_log().for_patient("LOCAL-0042")].count("fhir-import") == 3


def test_the_clinics_own_export_read_back_adds_nothing(clinic: Clinic, tmp_path: Path) -> None:
    from bont.clinic import models

    document = clinic.session_file("given")
    assert clinic.run("--as", "dr-fictional", "session", "record", str(document)).returncode == 0
    exported = tmp_path / "own.json"
    assert clinic.run("fhir", "export", "FICT-0001", "--output", str(exported)).returncode == 0
    imported = clinic.ok("fhir", "import", str(exported))
    assert (imported["patient"], imported["added"]) == ("matched", [])
    (session,) = [e for e in imported["matched"] if e["resource"] == "MedicationAdministration"]
    assert session["detail"].endswith("this clinic's own session, already counted")
    assert len(session["also"]) == 1  # the session's second site, counted in it
    assert not models.ExternalAdministration.objects.exists()


def test_a_malformed_bundle_is_refused_whole_and_stores_nothing(clinic: Clinic) -> None:
    from bont.clinic import models

    bundle = json.loads(BUNDLE.read_text(encoding="utf-8"))
    bundle["entry"][1]["resource"]["dosage"]["dose"]["value"] = "three hundred"
    malformed = clinic.folder / "malformed.json"
    malformed.write_text(json.dumps(bundle), encoding="utf-8")
    patients = models.Patient.objects.count()
    refused = clinic.run("fhir", "import", str(malformed))
    assert refused.returncode == 2
    assert "entry[1].resource.dosage.dose.value" in refused.stderr
    assert "nothing was imported" in refused.stderr
    assert "AH-0001" not in refused.stderr
    # A key given twice is refused, never the last one kept.
    twice = clinic.folder / "twice.json"
    twice.write_text(BUNDLE.read_text(encoding="utf-8").replace('"value": 300,', '"value": 30, "value": 300,'))
    doubled = clinic.run("fhir", "import", str(twice))
    assert (doubled.returncode, "value: given twice; nothing was imported" in doubled.stderr) == (2, True)
    assert models.Patient.objects.count() == patients
    assert not models.ExternalAdministration.objects.exists()
