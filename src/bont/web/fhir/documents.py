"""The FHIR resources the API writes itself: its CapabilityStatement (checked against the FHIR R4B model of
``fhir.resources`` when first built), an OperationOutcome for every refusal, and the searchset Bundle around a
search's matches (the resources in it were checked when the export mapped them)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib.metadata import version
from typing import Any

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from bont.interop.fhir import MRN_SYSTEM

__all__ = ["FHIR_JSON", "capability_statement", "operation_outcome", "searchset"]

FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"
# The day this statement last changed (CapabilityStatement.date is required; it is not the day it is read).
STATEMENT_DATE = "2026-11-30"
SECURITY = (
    "Every request but this statement needs a bont API token (Authorization: Bearer TOKEN, as the JSON API under "
    "/api/; an administrator issues one with `bont user token USERNAME`) or a signed-in session of the web app. "
    "The roles are the web app's: clinicians, nurses and administrators read patients' records; clinicians and "
    "nurses may post outside history; researchers and billing staff see no identified record (403)."
)
IMPORT = (
    "One write, which is neither a FHIR batch nor a transaction: POST [base] (or [base]/Bundle) with a Bundle "
    "(application/fhir+json, any type; its entries need no request element) imports outside history (botulinum "
    "toxin given elsewhere, conditions, allergies, other medicines) into bont. The answer is an OperationOutcome, "
    "not a batch-response Bundle: an issue for the patient (matched or added), then one per entry: information "
    "for an entry added or matched, a warning naming the entry for one refused. The whole bundle is refused with "
    "400 (the path of the bad element) when it is not a valid Bundle, 422 when its patient cannot be matched or "
    "registered, 413 when it is larger than the web server takes (`bont fhir import FILE` takes larger files). "
    "Importing the same bundle again adds nothing."
)
_PATIENT_SEARCH = {"name": "patient", "type": "reference", "documentation": "Patient/ID or ID (required)"}
_DAYS = "At day precision: eq, ge, gt, le, lt and YYYY-MM-DD; repeat it for a range"
_EFFECTIVE_TIME_SEARCH = {
    "name": "effective-time",
    "definition": "http://hl7.org/fhir/SearchParameter/MedicationAdministration-effective-time",
    "type": "date",
    "documentation": f"When the dose was given. {_DAYS}",
}
_ADMINISTRATION_DATE_SEARCH = {
    "name": "date",
    "type": "date",
    "documentation": "The same as effective-time, under the name other resource types use",
}
_OBSERVATION_DATE_SEARCH = {
    "name": "date",
    "definition": "http://hl7.org/fhir/SearchParameter/clinical-date",
    "type": "date",
    "documentation": f"When measured; a measurement of a period matches when the period overlaps the days. {_DAYS}",
}


@cache
def _statement() -> dict[str, Any]:
    statement: dict[str, Any] = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": STATEMENT_DATE,
        "publisher": "bont",
        "kind": "instance",
        "software": {"name": "bont", "version": version("bont")},  # the installed release
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read access to bont's records of botulinum toxin treatment. " + IMPORT,
                "security": {"cors": False, "description": SECURITY, "service": [{"text": "Bearer token"}]},
                "resource": [
                    {
                        "type": "Patient",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": "_id", "type": "token", "documentation": "The Patient id"},
                            {
                                "name": "identifier",
                                "type": "token",
                                "documentation": f"The MRN ({MRN_SYSTEM}|MRN), in POST Patient/_search only: "
                                "no address carries an MRN",
                            },
                        ],
                        "operation": [
                            {
                                "name": "everything",
                                "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                                "documentation": "Every resource of the patient's record, as a Bundle",
                            }
                        ],
                    },
                    {
                        "type": "MedicationAdministration",
                        "documentation": "One per site injected; the dose is in its product's own units",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [_PATIENT_SEARCH, _EFFECTIVE_TIME_SEARCH, _ADMINISTRATION_DATE_SEARCH],
                    },
                    {
                        "type": "Observation",
                        "documentation": "Outcome scores (licensed instruments as totals only) and body weights",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [_PATIENT_SEARCH, _OBSERVATION_DATE_SEARCH],
                    },
                ],
            }
        ],
    }
    CapabilityStatement.model_validate(statement)  # once per process: a mistake here fails every test of it
    return statement


def capability_statement(base_url: str) -> dict[str, Any]:
    """The server's CapabilityStatement, its implementation at ``base_url``."""
    return {**_statement(), "implementation": {"description": "bont", "url": base_url}}


def operation_outcome(code: str, diagnostics: str, expression: str | None = None) -> dict[str, Any]:
    """An error OperationOutcome: ``code`` from the FHIR issue-type codes (invalid, not-found, forbidden, ...),
    ``expression`` the parameter or element at fault."""
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def searchset(self_url: str, base_url: str, resources: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The searchset Bundle of ``resources``, each a match with its full URL under ``base_url`` (no ``entry``
    when nothing matched: FHIR JSON has no empty arrays)."""
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": self_url}],
    }
    if resources:
        bundle["entry"] = [
            {
                "fullUrl": f"{base_url}{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ]
    return bundle
