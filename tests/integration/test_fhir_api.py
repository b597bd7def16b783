"""The FHIR API over HTTP, in process (Django's test client on a real SQLite database): bearer-token clients of
a clinician, a nurse and a researcher on a small fictional clinic (one patient, two sessions 170 days apart, an
outcome), every answer read as FHIR JSON and validated with the R4B models of ``fhir.resources``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tests.commands import bont
from tests.databases import migrated_sqlite_database

FHIR_JSON = "application/fhir+json"
MRN, INDICATION = "FICT-FHIR-1", "axillary-hyperhidrosis"
OUTSIDE_BUNDLE = Path(__file__).parents[1] / "fixtures" / "fhir" / "another-hospital.json"
CHART_KEY = "Fhir_Api_Chart_1"
EARLIER, LATER = date.today() - timedelta(days=200), date.today() - timedelta(days=30)


def _outside_bundle() -> dict[str, Any]:
    """The other hospital's bundle (tests/fixtures/fhir) for a patient and a dose of this module's own: the
    process's one database may hold what another module imported from it."""
    bundle: dict[str, Any] = json.loads(OUTSIDE_BUNDLE.read_bytes())
    patient, administration = (entry["resource"] for entry in bundle["entry"][:2])
    patient["identifier"][0]["value"] = "FICT-FHIR-OUT"
    patient["name"][0]["family"] = "Fhirapi"
    administration["identifier"][0]["value"] = "fhir-api-ma-1"
    return bundle


def _record_session(folder: Path, given: date) -> None:
    document = {
        "patient_mrn": MRN,
        "date": given.isoformat(),
        "at": f"{given.isoformat()}T10:00:00",
        "clinician": "fhir-clinician",
        "indication": INDICATION,
        "product": "onabotulinumtoxinA",
        "sites": [{"muscle": "axilla", "side": side, "units": 50} for side in ("left", "right")],
        "draws": [],
        "acknowledgements": {},
    }
    session = folder / f"session-{given.isoformat()}.json"
    session.write_text(json.dumps(document), encoding="utf-8")
    assert bont("session", "record", str(session)).returncode == 0


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Bearer-token clients by role (and one with no token) and the patient's FHIR id."""
    folder = tmp_path_factory.mktemp("fhir-api")
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("DATABASE_URL", migrated_sqlite_database(folder))
        from bont.bootstrap import setup_database

        setup_database()
        from django.test import Client

        tokens = {}
        for role in ("clinician", "nurse", "researcher"):
            assert bont("user", "add", f"fhir-{role}", "--role", role).returncode == 0
            tokens[role] = bont("user", "token", f"fhir-{role}").stdout.strip().rsplit(" ", 1)[-1]
        assert bont("patient", "add", "--mrn", MRN, "--given-name", "Test", "--family-name", "Fhir",
                    "--birth-date", "1970-03-04", "--sex", "female", "--weight-kg", "70").returncode == 0  # fmt: skip
        # The other hospital's patient, registered here first: a bundle giving no MRN of this clinic is matched
        # to a patient on file by name and birth date, and registers none.
        outside = ("--given-name", "Fictional", "--family-name", "Fhirapi", "--birth-date", "1980-04-02")
        assert bont("patient", "add", "--mrn", "FICT-FHIR-OUT", *outside, "--sex", "female").returncode == 0
        from bont.clinic.models import Patient

        # A chart key holding "_", which a FHIR id may not: the patient's id writes it "." (bont.interop.fhir).
        Patient.objects.filter(mrn=MRN).update(chart_key=CHART_KEY)
        for given in (EARLIER, LATER):
            _record_session(folder, given)
        outcome = ("--indication", INDICATION, "--instrument", "hdss", "--date", LATER.isoformat(), "--value", "2")
        assert bont("outcome", "add", "--mrn", MRN, *outcome, "--clinician", "fhir-nurse").returncode == 0
        yield {
            **{role: Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {t}") for role, t in tokens.items()},
            "anonymous": Client(SERVER_NAME="localhost"),
            "patient": CHART_KEY.replace("_", "."),
        }


def _fhir(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == FHIR_JSON
    document: dict[str, Any] = json.loads(response.content)
    return document


def _refused(response: Any, status: int, expression: str | None = None) -> str:
    """The diagnostics of the OperationOutcome refusing the request, which names ``expression``."""
    outcome = OperationOutcome.model_validate(_fhir(response, status))
    (issue,) = outcome.issue
    assert issue.severity == "error"
    assert issue.expression == ([expression] if expression else None)
    return str(issue.diagnostics)


def test_the_capability_statement_is_public_r4_json_with_bearer_tokens(clinic: dict[str, Any]) -> None:
    statement = CapabilityStatement.model_validate(_fhir(clinic["anonymous"].get("/fhir/metadata")))
    assert (statement.fhirVersion, statement.kind, statement.format) == ("4.0.1", "instance", [FHIR_JSON, "json"])
    assert statement.implementation is not None
    assert statement.implementation.url == "http://localhost/fhir/"
    (rest,) = statement.rest or []
    assert rest.security is not None
    assert "Bearer" in str(rest.security.description)
    searches = {r.type: {p.name for p in r.searchParam or []} for r in rest.resource or []}
    assert searches == {"Patient": {"_id", "identifier"},
                        "MedicationAdministration": {"patient", "effective-time", "date"},
                        "Observation": {"patient", "date"}}  # fmt: skip
    assert "POST [base]" in str(rest.documentation)  # the import: not a batch or transaction interaction
    assert not rest.interaction


@pytest.mark.parametrize(
    ("accept", "query"),
    [("application/fhir+xml", ""), ("application/xml, text/xml", ""), (FHIR_JSON, "?_format=xml")],
)
def test_xml_is_refused_as_not_acceptable(clinic: dict[str, Any], accept: str, query: str) -> None:
    _refused(clinic["clinician"].get(f"/fhir/metadata{query}", HTTP_ACCEPT=accept), 406, "_format" if query else None)


def test_a_browser_asking_for_anything_is_answered_in_json(clinic: dict[str, Any]) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    _fhir(clinic["anonymous"].get("/fhir/metadata", HTTP_ACCEPT=browser))


def test_an_address_of_no_resource_type_is_a_404_outcome(clinic: dict[str, Any]) -> None:
    assert "no such resource type" in _refused(clinic["clinician"].get("/fhir/Condition"), 404)
    refused = clinic["clinician"].delete("/fhir/metadata")
    _refused(refused, 405)
    assert refused["Allow"] == "GET"


def _searched(clinic: dict[str, Any], path: str, role: str = "clinician") -> list[dict[str, Any]]:
    """The resources a search finds, its answer validated as a searchset Bundle whose total counts them."""
    bundle = _fhir(clinic[role].get(path))
    Bundle.model_validate(bundle)
    assert (bundle["type"], bundle["link"][0]["relation"]) == ("searchset", "self")
    found = [entry["resource"] for entry in bundle.get("entry", ())]
    assert bundle["total"] == len(found)
    return found


def _days(resources: list[dict[str, Any]]) -> list[str]:
    return sorted(r.get("effectiveDateTime", "")[:10] for r in resources)


def test_everything_of_a_patient_is_a_valid_bundle_of_the_whole_record(clinic: dict[str, Any]) -> None:
    patient = clinic["patient"]
    bundle = _fhir(clinic["clinician"].get(f"/fhir/Patient/{patient}/$everything"))
    Bundle.model_validate(bundle)
    resources = [entry["resource"] for entry in bundle["entry"]]
    kinds = [r["resourceType"] for r in resources]
    assert kinds[0] == "Patient"
    assert resources[0]["id"] == patient
    # Observations: the outcome and the weight given at registration.
    assert (kinds.count("Procedure"), kinds.count("MedicationAdministration"), kinds.count("Observation")) == (2, 4, 2)
    assert all(entry["fullUrl"].startswith("http://localhost/fhir/") for entry in bundle["entry"])
    assert MRN not in json.dumps([r for r in resources if r["resourceType"] != "Patient"])  # the Patient's only


def test_a_date_search_finds_the_administrations_of_those_days_only(clinic: dict[str, Any]) -> None:
    search = f"/fhir/MedicationAdministration?patient=Patient/{clinic['patient']}"
    assert _days(_searched(clinic, search)) == [EARLIER.isoformat()] * 2 + [LATER.isoformat()] * 2
    around_later = f"{search}&effective-time=ge{LATER - timedelta(days=1)}&effective-time=le{LATER}"
    assert _days(_searched(clinic, around_later)) == [LATER.isoformat()] * 2
    assert _days(_searched(clinic, f"{search}&effective-time=lt{LATER}")) == [EARLIER.isoformat()] * 2
    assert _days(_searched(clinic, f"{search}&effective-time=gt{LATER}&date=le{LATER}")) == []  # both hold
    assert _days(_searched(clinic, f"{search}&date={EARLIER}")) == [EARLIER.isoformat()] * 2


def test_each_resource_reads_by_its_id_as_the_search_found_it(clinic: dict[str, Any]) -> None:
    patient = clinic["patient"]
    observations = _searched(clinic, f"/fhir/Observation?patient={patient}&date=ge{LATER}", role="nurse")
    assert len(observations) == 2  # the outcome and the weight given at registration
    administration = _searched(clinic, f"/fhir/MedicationAdministration?patient={patient}")[0]
    (found,) = _searched(clinic, f"/fhir/Patient?_id={patient}")
    assert _fhir(clinic["clinician"].get(f"/fhir/Patient/{patient}")) == found
    for observation in observations:
        assert _fhir(clinic["clinician"].get(f"/fhir/Observation/{observation['id']}")) == observation
    assert _fhir(clinic["clinician"].get(f"/fhir/MedicationAdministration/{administration['id']}")) == administration
    assert _searched(clinic, "/fhir/Patient?_id=no-such-patient") == []


def test_the_reads_are_in_the_patients_access_log_as_api_reads(clinic: dict[str, Any]) -> None:
    from bont.bootstrap import access_log

    _fhir(clinic["clinician"].get(f"/fhir/Patient/{clinic['patient']}/$everything"))
    latest = access_log().for_patient(MRN)[0]
    assert (latest.actor, latest.channel, latest.action, latest.target) == (
        "fhir-clinician", "api", "export", "fhir-everything")  # fmt: skip


@pytest.mark.parametrize(
    ("path", "status", "parameter"),
    [
        ("/fhir/MedicationAdministration?patient={patient}&date=ge2026-02-30", 400, "date"),
        ("/fhir/MedicationAdministration?patient={patient}&effective-time=sa2026-01-01", 400, "effective-time"),
        ("/fhir/Observation?patient={patient}&effective-time=ge2026-01-01", 400, "effective-time"),
        ("/fhir/Observation?patient={patient}&code=44261-6", 400, "code"),
        ("/fhir/Observation?date=ge2026-01-01", 400, "patient"),
        ("/fhir/Patient?identifier=FICT-FHIR-1", 400, "identifier"),
        ("/fhir/Patient/no-such-patient", 404, None),
        ("/fhir/Patient/no-such-patient/$everything", 404, None),
        ("/fhir/MedicationAdministration/session-987654321-site-1", 404, None),
        ("/fhir/Observation/not-an-outcome", 404, None),
    ],
)
def test_a_bad_search_or_an_unknown_id_is_refused_naming_the_parameter(
    clinic: dict[str, Any], path: str, status: int, parameter: str | None
) -> None:
    diagnostics = _refused(clinic["clinician"].get(path.format(patient=clinic["patient"])), status, parameter)
    assert MRN not in diagnostics


def test_a_patients_record_needs_a_token_and_a_role_that_reads_identified_records(clinic: dict[str, Any]) -> None:
    everything = f"/fhir/Patient/{clinic['patient']}/$everything"
    unsigned = clinic["anonymous"].get(everything)
    _refused(unsigned, 401)
    assert unsigned["WWW-Authenticate"] == "Bearer"
    _refused(clinic["researcher"].get(everything), 403)
    _refused(clinic["researcher"].get(f"/fhir/Patient?_id={clinic['patient']}"), 403)
    _refused(clinic["researcher"].post("/fhir/", _outside_bundle(), content_type=FHIR_JSON), 403)


def test_a_signed_in_session_reads_but_posts_only_with_its_csrf_token(clinic: dict[str, Any]) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    browser = Client(SERVER_NAME="localhost", enforce_csrf_checks=True)
    browser.force_login(get_user_model()._default_manager.get_by_natural_key("fhir-nurse"))
    _fhir(browser.get(f"/fhir/Patient/{clinic['patient']}"))
    assert "CSRF" in _refused(browser.post("/fhir/", _outside_bundle(), content_type=FHIR_JSON), 403)


def test_a_posted_bundle_of_outside_history_is_imported_and_reported_entry_by_entry(clinic: dict[str, Any]) -> None:
    posted = _outside_bundle()
    first = OperationOutcome.model_validate(_fhir(clinic["nurse"].post("/fhir/", posted, content_type=FHIR_JSON)))
    assert "matched" in str(first.issue[0].diagnostics)  # the patient
    (dose,) = [issue for issue in first.issue if issue.expression == ["Bundle.entry[1].resource"]]
    assert str(dose.diagnostics).startswith("MedicationAdministration added: ")
    again = _fhir(clinic["clinician"].post("/fhir/Bundle", posted, content_type=FHIR_JSON))
    assert not [issue for issue in again["issue"] if " added" in issue["diagnostics"]]  # nothing added twice
    malformed = _outside_bundle()
    malformed["entry"][1]["resource"]["dosage"]["dose"]["value"] = "three hundred"
    refused = clinic["clinician"].post("/fhir/", malformed, content_type=FHIR_JSON)
    _refused(refused, 400, "entry[1].resource.dosage.dose.value")
    _refused(clinic["clinician"].post("/fhir/", "<Bundle/>", content_type="application/fhir+xml"), 415)


def test_a_bundle_larger_than_the_web_server_takes_is_a_413_pointing_at_the_command(clinic: dict[str, Any]) -> None:
    from django.test import override_settings

    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024):
        refused = clinic["nurse"].post("/fhir/", {**_outside_bundle(), "id": "x" * 2048}, content_type=FHIR_JSON)
    diagnostics = _refused(refused, 413)
    assert "1024 bytes" in diagnostics
    assert "bont fhir import" in diagnostics


def test_a_server_error_is_an_operation_outcome_naming_nothing_of_the_request(clinic: dict[str, Any]) -> None:
    from django.test import RequestFactory

    from bont.web.views.errors import server_error

    answer = server_error(RequestFactory().get(f"/fhir/Patient/{clinic['patient']}"))
    assert clinic["patient"] not in _refused(answer, 500)


def test_a_patient_is_found_by_mrn_only_in_a_posted_search(clinic: dict[str, Any]) -> None:
    from bont.interop.fhir import MRN_SYSTEM

    def posted(form: dict[str, str]) -> list[dict[str, Any]]:
        bundle = _fhir(clinic["clinician"].post("/fhir/Patient/_search", form))
        return [entry["resource"]["id"] for entry in bundle.get("entry", ())]

    assert posted({"identifier": f"{MRN_SYSTEM}|{MRN}"}) == posted({"identifier": MRN}) == [clinic["patient"]]
    assert posted({"identifier": MRN, "_id": clinic["patient"]}) == [clinic["patient"]]
    assert posted({"identifier": f"https://another.example/mrn|{MRN}"}) == []
    assert posted({"identifier": MRN, "_id": "another-patient"}) == []  # both must hold
    _refused(clinic["clinician"].post("/fhir/Patient/_search", {"name": "Fhir"}), 400, "name")
    as_json = clinic["clinician"].post("/fhir/Patient/_search", {"identifier": MRN}, content_type=FHIR_JSON)
    assert MRN not in _refused(as_json, 415)
