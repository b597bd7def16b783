"""``bont fhir import`` on the database: a bundle from "another hospital" with 300 U BOTOX given six weeks ago
makes a 150 U chronic migraine plan block on BOTOX's cumulative limit, the chart shows the outside dose, a second
import matches everything, and a malformed bundle stores nothing. The commands run in process;
``tests/integration/test_background_runs.py`` runs this module once per engine."""

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

    from bont.clinic import models

    imported = clinic.ok("fhir", "import", str(BUNDLE))
    assert imported["patient"] == "added"
    assert [entry["resource"] for entry in imported["added"]] == [
        "MedicationAdministration",
        "Condition",
        "AllergyIntolerance",
        "MedicationStatement",
    ]
    assert (imported["matched"], imported["refused"]) == ([], [])

    blocked = clinic.run(
        "patient", "check", "AH-0001", "--indication", "chronic-migraine", "--product", "BOTOX", "--units", "150",
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
    patient = models.Patient.objects.get(mrn="AH-0001")
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
    assert models.Patient.objects.count() == patients
    assert not models.ExternalAdministration.objects.exists()
