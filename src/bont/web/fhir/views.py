"""The FHIR API's views: each translates a FHIR request into a service call and its answer back into FHIR JSON.

What every view shares is in :func:`fhir_view`: the method, JSON only (an Accept or ``_format`` asking for XML
is a 406), the JSON API's own authenticators (a bearer token, else a signed-in session, whose CSRF check on a
POST django-ninja's session authenticator makes) and roles, and every refusal as an OperationOutcome."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from ninja.errors import HttpError
from ninja.security import django_auth

from bont.bootstrap import build_knowledge, clock, fhir_exchange, outside_history_records, patient_registry
from bont.interop import strict_json
from bont.interop.fhir import MRN_SYSTEM, chart_key_of, patient_id
from bont.interop.fhir.read import MalformedBundleError, read_bundle
from bont.services.fhir_import import ImportRefusedError, ImportReport, Outcome, import_bundle
from bont.services.ports import UnknownPatientError
from bont.web.access import IDENTIFIED, RECORDING, roles_of
from bont.web.api import BearerToken
from bont.web.audit_reads import Action, log_read
from bont.web.fhir.documents import FHIR_JSON, capability_statement, operation_outcome, searchset
from bont.web.fhir.search import DayRange, SearchError, day_range, reference_id, refuse_unknown, single
from bont.web.input_guard import FORMS

__all__ = [
    "FhirRefusal",
    "everything",
    "fhir_view",
    "import_outside_history",
    "medication_administration",
    "medication_administrations",
    "metadata",
    "observation",
    "observations",
    "patient",
    "patient_search",
    "patients",
    "unsupported",
]

# The JSON API's authenticators, in its order: a token client sends no session cookie.
_AUTHENTICATORS = (BearerToken(), django_auth)
# What an Accept header may ask for to be answered (FHIR R4 §3.1.0.1.10: JSON is this server's one format).
_JSON_TYPES = frozenset(("application/fhir+json", "application/json", "application/json+fhir", "application/*", "*/*"))
_JSON_FORMATS = frozenset(("json", "application/json", "application/fhir+json", "application/json+fhir"))

FhirAnswer = tuple[int, dict[str, Any]]
FORMAT = "_format"  # a parameter of every interaction (FHIR R4 §3.1.0.1.10)
# The date search parameter of each searchable type (FHIR R4's names; MedicationAdministration also takes the
# ``date`` other types use, as clients send it).
DATE_PARAMETERS = {"MedicationAdministration": ("effective-time", "date"), "Observation": ("date",)}
_POSTED_TYPES = ("application/fhir+json", "application/json")
MRN_LENGTH = 40  # as the chart stores it


class FhirRefusal(Exception):
    """A request refused: the HTTP status and the OperationOutcome's issue code, diagnostics and expression."""

    def __init__(self, status: int, code: str, diagnostics: str, expression: str | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.outcome = operation_outcome(code, diagnostics, expression)


def fhir_response(document: dict[str, Any], status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(document), content_type=FHIR_JSON, status=status)


def base_url(request: HttpRequest) -> str:
    """The FHIR base of this server, as the client addressed it (``https://clinic.example/fhir/``)."""
    return request.build_absolute_uri(reverse("fhir_metadata").removesuffix("metadata"))


def _negotiate(request: HttpRequest) -> None:
    """Refuse a request that asks for anything but JSON; ``_format`` overrides Accept (FHIR R4 §3.1.0.1.10)."""
    asked = request.GET.getlist("_format")
    if asked:
        if len(asked) > 1 or asked[0] not in _JSON_FORMATS:
            status = 406 if "xml" in asked[0] else 400
            raise FhirRefusal(status, "not-supported", "this server answers in JSON only", "_format")
        return
    accept = request.headers.get("Accept", "")
    kinds = {part.split(";", 1)[0].strip().lower() for part in accept.split(",")} - {""}
    if kinds and not kinds & _JSON_TYPES:
        raise FhirRefusal(406, "not-supported", "this server answers in JSON only (application/fhir+json)")


def _authenticated(request: HttpRequest) -> bool:
    for authenticator in _AUTHENTICATORS:
        try:
            holder = authenticator(request)
        except HttpError as error:  # a session's POST without its CSRF token
            raise FhirRefusal(error.status_code, "forbidden", str(error)) from error
        if holder:
            request.auth = holder  # type: ignore[attr-defined]  # as django-ninja keeps it: read by log_read
            return True
    return False


def fhir_view(
    methods: tuple[str, ...], roles: tuple[str, ...] | None
) -> Callable[[Callable[..., FhirAnswer]], Callable[..., HttpResponse]]:
    """A FHIR view answering ``methods`` to ``roles`` (None: to anyone, without signing in)."""

    def decorate(view: Callable[..., FhirAnswer]) -> Callable[..., HttpResponse]:
        @csrf_exempt  # django-ninja's session authenticator checks CSRF itself; a token client has no cookie
        @wraps(view)
        def answer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise FhirRefusal(405, "not-supported", f"{request.method} is not supported here")
                _negotiate(request)
                if roles is not None:
                    if not _authenticated(request):
                        raise FhirRefusal(401, "login", "a bearer token (or a signed-in session) is needed")
                    if not roles_of(request) & set(roles):
                        raise FhirRefusal(403, "forbidden", "your role does not allow this")
                status, document = view(request, *args, **kwargs)
            except FhirRefusal as refusal:
                refused = fhir_response(refusal.outcome, refusal.status)
                if refusal.status == 401:
                    refused["WWW-Authenticate"] = "Bearer"
                elif refusal.status == 405:
                    refused["Allow"] = ", ".join(methods)
                return refused
            except SearchError as error:
                return fhir_response(operation_outcome("invalid", str(error), error.parameter), 400)
            except UnknownPatientError:
                return fhir_response(operation_outcome("not-found", "no patient has this id"), 404)
            return fhir_response(document, status)

        return answer

    return decorate


@fhir_view(("GET",), roles=None)
def metadata(request: HttpRequest) -> FhirAnswer:
    """The CapabilityStatement: public, as a client reads it to learn how to sign in (it names no patient)."""
    return 200, capability_statement(base_url(request))


@fhir_view(("GET", "POST", "PUT", "PATCH", "DELETE"), roles=None)
def unsupported(request: HttpRequest, rest: str) -> FhirAnswer:
    """Any other address under the base: a resource type or an operation this server does not have."""
    raise FhirRefusal(404, "not-supported", "this server has no such resource type or operation")


def _query(request: HttpRequest) -> dict[str, list[str]]:
    """The query string's parameters, each with all its values (a ``date`` is often given twice)."""
    return dict(request.GET.lists())


def _mrn(chart_key: str) -> str:
    """The MRN of the chart, for the access log only; raises ``UnknownPatientError`` (a 404)."""
    return patient_registry().mrn_for_chart_key(chart_key)


def _searched_chart_key(value: str, parameter: str) -> str:
    """The chart key a Patient id (``ID`` or ``Patient/ID``) of a search parameter names."""
    return chart_key_of(reference_id(value, parameter))


def _chart_key(path_id: str) -> str:
    """The chart key a Patient id in an address names: an id FHIR would not allow names no chart (a 404)."""
    try:
        return _searched_chart_key(path_id, "id")
    except SearchError:
        raise UnknownPatientError from None


@fhir_view(("GET",), IDENTIFIED)
def patient(request: HttpRequest, patient_id: str) -> FhirAnswer:
    return _read(request, "Patient", patient_id)


@fhir_view(("GET",), IDENTIFIED)
def patients(request: HttpRequest) -> FhirAnswer:
    """Patients by ``_id``; by ``identifier`` (the MRN) only in a posted search (``patient_search``)."""
    query = _query(request)
    refuse_unknown(query, ("_id", FORMAT))
    return _patients_found(request, query)


@fhir_view(("POST",), IDENTIFIED)
def patient_search(request: HttpRequest) -> FhirAnswer:
    """``POST Patient/_search`` (FHIR R4 §3.1.0.8.1): the parameters in a form body, where an MRN (``identifier``)
    may go, which no address carries (proxy logs, browser history)."""
    refuse_unknown(_query(request), (FORMAT,))
    if request.content_type not in FORMS:
        raise FhirRefusal(415, "not-supported", "post the search parameters as a form (x-www-form-urlencoded)")
    form = dict(request.POST.lists())
    refuse_unknown(form, ("_id", "identifier"))
    return _patients_found(request, form)


def _patients_found(request: HttpRequest, query: dict[str, list[str]]) -> FhirAnswer:
    """The Patient ``_id`` and ``identifier`` name together (one of them required), as a searchset."""
    wanted, identifier = single(query, "_id"), single(query, "identifier")
    if wanted is None and identifier is None:
        raise SearchError("_id", "is required: this server finds a Patient by its id (or, posted, its MRN)")
    named: set[str | None] = set()  # the MRN each parameter names (None: no patient)
    if wanted is not None:
        named.add(_mrn_or_none(_searched_chart_key(wanted, "_id")))
    if identifier is not None:
        named.add(_mrn_of_identifier(identifier))
    (mrn,) = named if len(named) == 1 else (None,)  # both given must name the same patient
    found = []
    if mrn is not None:
        found = fhir_exchange().patient_resources(patient_registry().chart_key(mrn), "Patient")
        log_read(request, "fhir-Patient", mrn, object_id="search")
    return 200, searchset(request.build_absolute_uri(), base_url(request), found)


def _mrn_or_none(chart_key: str) -> str | None:
    try:
        return _mrn(chart_key)
    except UnknownPatientError:
        return None


def _mrn_of_identifier(identifier: str) -> str | None:
    """The MRN of the patient an ``identifier`` token names (``MRN``, ``|MRN`` or ``<MRN system>|MRN``); None
    for no patient (or another system's identifier)."""
    system, _, mrn = identifier.rpartition("|")
    if not mrn or len(mrn) > MRN_LENGTH:
        raise SearchError("identifier", f"must be an MRN of 1 to {MRN_LENGTH} characters, after its system and |")
    if system not in ("", MRN_SYSTEM):
        return None
    try:
        patient_registry().chart_key(mrn)
    except UnknownPatientError:
        return None
    return mrn


def _clinical_search(request: HttpRequest, resource_type: str) -> FhirAnswer:
    """A search of one patient's resources of ``resource_type`` by ``patient`` (required) and its date
    parameters (all must hold)."""
    query = _query(request)
    dated = DATE_PARAMETERS[resource_type]
    refuse_unknown(query, ("patient", *dated, FORMAT))
    subject = single(query, "patient")
    if subject is None:
        raise SearchError("patient", "is required: this server searches one patient's record at a time")
    chart_key = _searched_chart_key(subject, "patient")
    days = DayRange()
    for parameter in dated:
        allowed = day_range(query.get(parameter, []), parameter)
        days = days.narrowed(allowed.start, allowed.end)
    found = []
    mrn = _mrn_or_none(chart_key)
    if mrn is not None:
        found = fhir_exchange().patient_resources(chart_key, resource_type, days.start, days.end)
        log_read(request, f"fhir-{resource_type}", mrn, object_id="search")
    return 200, searchset(request.build_absolute_uri(), base_url(request), found)


@fhir_view(("GET",), IDENTIFIED)
def medication_administrations(request: HttpRequest) -> FhirAnswer:
    return _clinical_search(request, "MedicationAdministration")


@fhir_view(("GET",), IDENTIFIED)
def observations(request: HttpRequest) -> FhirAnswer:
    return _clinical_search(request, "Observation")


@fhir_view(("GET",), IDENTIFIED)
def everything(request: HttpRequest, patient_id: str) -> FhirAnswer:
    """``Patient/{id}/$everything``: the whole record at once, logged as an export of it."""
    refuse_unknown(_query(request), (FORMAT,))
    chart_key = _chart_key(patient_id)
    mrn = _mrn(chart_key)
    bundle = fhir_exchange().patient_everything(chart_key, base_url(request))
    log_read(request, "fhir-everything", mrn, action=Action.EXPORT)
    return 200, bundle


def _read(request: HttpRequest, resource_type: str, resource_id: str) -> FhirAnswer:
    """``GET <type>/<id>``: the resource, its patient found from the id alone (a withdrawn record, or an id of no
    record, is a 404)."""
    refuse_unknown(_query(request), (FORMAT,))
    found = fhir_exchange().resource(resource_type, resource_id)
    if found is None:
        raise FhirRefusal(404, "not-found", f"no {resource_type} has this id")
    log_read(request, f"fhir-{resource_type}", found.mrn, "" if resource_type == "Patient" else resource_id)
    return 200, found.resource


@fhir_view(("GET",), IDENTIFIED)
def medication_administration(request: HttpRequest, resource_id: str) -> FhirAnswer:
    return _read(request, "MedicationAdministration", resource_id)


@fhir_view(("GET",), IDENTIFIED)
def observation(request: HttpRequest, resource_id: str) -> FhirAnswer:
    return _read(request, "Observation", resource_id)


@fhir_view(("POST",), RECORDING)
def import_outside_history(request: HttpRequest) -> FhirAnswer:
    """A Bundle of outside history imported (``bont fhir import``'s two steps): the report as an
    OperationOutcome, one issue per entry, rather than a batch-response Bundle, which would answer a batch's
    ``request`` elements that a sending system's export does not have."""
    refuse_unknown(_query(request), (FORMAT,))
    if request.content_type not in _POSTED_TYPES:
        raise FhirRefusal(415, "not-supported", "post the Bundle as application/fhir+json")
    try:
        posted = request.body
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise FhirRefusal(
            413,
            "too-long",
            f"a Bundle posted here may hold at most {limit / 2**20:g} MB ({limit} bytes); "
            "`bont fhir import FILE` takes a larger one",
        ) from None
    try:
        record = read_bundle(strict_json.loads(posted), build_knowledge())
        report = import_bundle(outside_history_records(), record, clock().today())
    except (strict_json.JsonDocumentError, MalformedBundleError) as error:
        raise FhirRefusal(400, "invalid", f"{error.field}: {error.problem}", error.field) from error
    except ImportRefusedError as error:  # the patient cannot be matched or registered: nothing stored
        raise FhirRefusal(422, "business-rule", f"{error.field}: {error.problem}", error.field) from error
    return 200, _import_outcome(report)


def _import_outcome(report: ImportReport) -> dict[str, Any]:
    patient = {
        "severity": "information",
        "code": "informational",
        "diagnostics": f"Patient/{patient_id(report.chart_key)}: {report.patient}",
    }
    entries = [
        {
            "severity": "warning" if entry.outcome is Outcome.REFUSED else "information",
            "code": "business-rule" if entry.outcome is Outcome.REFUSED else "informational",
            "diagnostics": f"{entry.resource} {entry.outcome}: {entry.detail}",
            "expression": [f"Bundle.{entry.path}"],
        }
        for entry in report.entries
    ]
    return {"resourceType": "OperationOutcome", "issue": [patient, *entries]}
