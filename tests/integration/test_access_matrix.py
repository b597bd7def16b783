"""Least privilege, route by route: every page of ``bont.web.urls`` and every operation of the JSON API is
called as every role (and signed out) and answers as ONE table of rules below says. A route the table does not
name fails the test ("new route without an access rule"), so nobody adds a page without deciding who may open
it.

Allowed means the role reaches the view: any answer but 401, 403, a redirect to the sign-in page or a server
error (a 400 for an empty form, a 404 for an unknown id and a redirect elsewhere are the view's own answers).
Denied means 403 for a signed-in role; signed out, a page redirects to the sign-in page (or says 403) and the
API says 401 or 403.

Writes are asked on ids that do not exist or with forms the views refuse, so no request changes the small
fictional clinic (one patient, a session, an outcome, an adverse event) built once for the module on a real
SQLite database with Django's test client.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any
from urllib.parse import quote

import pytest

from tests.commands import bont_ok
from tests.databases import migrated_sqlite_database

ANONYMOUS = "anonymous"
CLINICIAN, NURSE, BILLING, RESEARCHER, ADMIN = "clinician", "nurse", "billing", "researcher", "admin"
ROLES = (CLINICIAN, NURSE, BILLING, RESEARCHER, ADMIN)
EVERYONE = frozenset((*ROLES, ANONYMOUS))
SIGNED_IN = frozenset(ROLES)
CHARTS = frozenset((CLINICIAN, NURSE, ADMIN))  # identified clinical pages
RECORDING = frozenset((CLINICIAN, NURSE))
CLINICIAN_ONLY = frozenset((CLINICIAN,))
CLAIMS = frozenset((BILLING, ADMIN, CLINICIAN))
STOCK = frozenset((CLINICIAN, NURSE, BILLING, ADMIN))
PATIENT_LIST = frozenset((CLINICIAN, NURSE, BILLING, ADMIN))  # names and MRNs, which a claim needs
RESEARCH = frozenset((RESEARCHER, ADMIN))
ADMIN_ONLY = frozenset((ADMIN,))  # accounts and the clinic-wide audit
NO_SUCH_ID = "987654321"  # writes are asked on ids that do not exist: nothing changes
THE_CALLER = "<the signed-in user>"  # in a rule's body: the username of the role calling


@dataclass(frozen=True)
class Rule:
    """Who may call a route, how the test calls it, and any path value of its own (else the clinic's)."""

    allowed: frozenset[str]
    method: str = "GET"
    path_values: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None  # an API body; else one the schema accepts, made up from it


# Web pages by URL name; API operations by "METHOD /api/path" as the OpenAPI schema writes them.
RULES: dict[str, Rule] = {
    "home": Rule(SIGNED_IN),  # it sends each role to its first page; signed out: 403 (no role)
    "login": Rule(EVERYONE),
    "logout": Rule(EVERYONE, "POST"),
    "patients": Rule(PATIENT_LIST),
    "patient_new": Rule(RECORDING, "POST"),  # an empty form: refused, nothing registered
    "condition_search": Rule(RECORDING),
    "chart": Rule(CHARTS),
    "patient_edit": Rule(RECORDING),
    "audit": Rule(CHARTS),
    "patient_plan": Rule(CHARTS),
    "record": Rule(RECORDING),
    "event_new": Rule(RECORDING),
    "outcome_new": Rule(RECORDING),
    "continuation_report": Rule(CHARTS),
    "diary_link_new": Rule(RECORDING, "POST"),  # no kind of diary: refused, no link made
    "follow_up": Rule(CHARTS),
    "diary": Rule(EVERYONE),  # the patient's link is the key: no sign-in
    "session": Rule(CHARTS),  # billing reads claim lines, not the clinical page
    "session_withdraw": Rule(CLINICIAN_ONLY, "POST"),  # no reason, no confirmation: refused
    "session_correct": Rule(CLINICIAN_ONLY),
    "outcome_correct": Rule(RECORDING),
    "outcome_withdraw": Rule(RECORDING),
    "plan": Rule(CHARTS, "POST"),
    "plan_sheet": Rule(CHARTS, "POST"),
    "inventory": Rule(STOCK),
    "billing": Rule(CLAIMS),
    "billing_export": Rule(CLAIMS),
    "events": Rule(CHARTS),
    "event_edit": Rule(RECORDING),
    "event_withdraw": Rule(RECORDING, "POST"),  # no reason, no confirmation: refused
    "research": Rule(RESEARCH),
    "research_cohort_size": Rule(RESEARCH),
    "research_analyses": Rule(RESEARCH),
    "research_cohort_save": Rule(RESEARCH, "POST"),  # no name: refused, nothing saved
    "research_analyses_download": Rule(RESEARCH, "POST"),  # one patient: every count suppressed
    "research_export": Rule(RESEARCH, "POST"),  # one patient: the k-anonymity check refuses it
    "evidence": Rule(SIGNED_IN),  # the evidence library: published studies and registered trials, no patient data
    "evidence_export": Rule(SIGNED_IN),  # no format: refused
    "evidence_study": Rule(SIGNED_IN, path_values={"key": "no-such-study"}),
    "evidence_trials": Rule(SIGNED_IN),
    "evidence_trials_export": Rule(SIGNED_IN),  # no format: refused
    "evidence_map": Rule(SIGNED_IN),
    "evidence_indication": Rule(SIGNED_IN),
    "evidence_pdf": Rule(SIGNED_IN),
    "style": Rule(SIGNED_IN),  # the style guide: tokens and components, no patient data
    "password_change": Rule(SIGNED_IN),  # each their own
    "password_change_done": Rule(SIGNED_IN),
    "sign_in_code": Rule(EVERYONE),  # the code after a right password; with none pending, back to sign-in
    "two_factor": Rule(SIGNED_IN),  # each their own authenticator app (404 while BONT_TOTP is off)
    "users": Rule(ADMIN_ONLY),
    "user": Rule(ADMIN_ONLY),
    "audit_search": Rule(ADMIN_ONLY),
    "audit_export": Rule(ADMIN_ONLY, "POST"),
    # The FHIR API: its CapabilityStatement is public; an address of no resource type is a 404 to anyone.
    "fhir_metadata": Rule(EVERYONE),
    "fhir_unsupported": Rule(EVERYONE, path_values={"rest": "Condition"}),
    "fhir_patients": Rule(CHARTS),
    "fhir_patient_search": Rule(CHARTS, "POST"),  # no form: refused
    "fhir_patient": Rule(CHARTS, path_values={"patient_id": "no-such-patient"}),
    "fhir_everything": Rule(CHARTS, path_values={"patient_id": "no-such-patient"}),
    "fhir_medication_administrations": Rule(CHARTS),
    "fhir_administration": Rule(CHARTS, path_values={"resource_id": f"session-{NO_SUCH_ID}-site-1"}),
    "fhir_observations": Rule(CHARTS),
    "fhir_observation": Rule(CHARTS, path_values={"resource_id": f"outcome-{NO_SUCH_ID}"}),
    "fhir_import": Rule(RECORDING, "POST"),  # no Bundle: refused, nothing imported
    "fhir_import_bundle": Rule(RECORDING, "POST"),
    # The API's description (no patient data): public, as the API docs link in the menu.
    "api-root": Rule(EVERYONE),
    "openapi-json": Rule(EVERYONE),
    "openapi-view": Rule(EVERYONE),
    "GET /api/indications": Rule(SIGNED_IN),
    "GET /api/indications/{indication_id}": Rule(SIGNED_IN),
    "GET /api/products": Rule(SIGNED_IN),
    "GET /api/products/{product_id}": Rule(SIGNED_IN),
    "POST /api/plan": Rule(CHARTS),
    "POST /api/check": Rule(CHARTS),
    "GET /api/patients": Rule(PATIENT_LIST),
    "GET /api/follow-up": Rule(CHARTS),  # as the Follow-up page
    "POST /api/patients/search": Rule(PATIENT_LIST, body={"query": "NO-SUCH"}),
    "POST /api/patients/lookup": Rule(PATIENT_LIST, body={"mrn": "NO-SUCH-MRN"}),  # a 404 names the MRN field
    "GET /api/patients/{chart_key}": Rule(CHARTS),
    "GET /api/lots": Rule(STOCK),
    "GET /api/studies": Rule(SIGNED_IN),
    "GET /api/studies/{key}": Rule(SIGNED_IN, path_values={"key": "no-such-study"}),
    "GET /api/trials": Rule(SIGNED_IN),
    "GET /api/trials/{nct}": Rule(SIGNED_IN, path_values={"nct": "NCT00000000"}),
    "GET /api/evidence-map": Rule(SIGNED_IN),
    "GET /api/research/cohorts": Rule(RESEARCH),
    "POST /api/research/cohorts": Rule(RESEARCH, body={"name": "", "definition": {}}),  # no name: refused
    "GET /api/research/cohorts/{name}/size": Rule(RESEARCH, path_values={"name": "no-such-cohort"}),
    "POST /api/research/analyses": Rule(RESEARCH, body={"name": "no-such-cohort"}),
    "POST /api/research/export": Rule(RESEARCH, body={}),  # one patient: the k-anonymity check refuses it
    "GET /api/patients/{chart_key}/sessions": Rule(CHARTS),
    "GET /api/sessions/{session_id}": Rule(CHARTS),
    "POST /api/sessions": Rule(RECORDING, body={"patient_mrn": "NO-SUCH-MRN", "clinician": THE_CALLER}),
    "POST /api/sessions/{session_id}/withdraw": Rule(CLINICIAN_ONLY, "POST", {"session_id": NO_SUCH_ID}),
    "POST /api/sessions/{session_id}/correction": Rule(CLINICIAN_ONLY, "POST", {"session_id": NO_SUCH_ID}),
    "POST /api/outcomes/{outcome_id}/correction": Rule(RECORDING, "POST", {"outcome_id": NO_SUCH_ID}),
    "POST /api/outcomes/{outcome_id}/withdraw": Rule(RECORDING, "POST", {"outcome_id": NO_SUCH_ID}),
    "GET /api/adverse-events/{event_id}": Rule(CHARTS),
    "PATCH /api/adverse-events/{event_id}": Rule(RECORDING, "PATCH", {"event_id": NO_SUCH_ID}),
    "POST /api/adverse-events/{event_id}/withdraw": Rule(RECORDING, "POST", {"event_id": NO_SUCH_ID}),
}

MRN = "FICT-ACL-1"
INDICATION = "axillary-hyperhidrosis"


@dataclass(frozen=True)
class Clinic:
    """The module's clinic: a user per role and the ids its routes are called with."""

    users: Mapping[str, Any]
    path_values: Mapping[str, str]
    clients: dict[str, Any] = field(default_factory=dict)  # by role, made as first asked for (``_signed_in``)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    folder = tmp_path_factory.mktemp("access-matrix")
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("DATABASE_URL", migrated_sqlite_database(folder))
        from bont.bootstrap import setup_database

        setup_database()
        from django.contrib.auth import get_user_model

        from bont.clinic import models

        for role in ROLES:
            bont_ok("user", "add", f"acl-{role}", "--role", role)
        bont_ok("patient", "add", "--mrn", MRN, "--given-name", "Test", "--family-name", "Matrix",
              "--birth-date", "1970-03-04", "--sex", "female", "--weight-kg", "70")  # fmt: skip
        given = date.today() - timedelta(days=30)
        document = {
            "patient_mrn": MRN,
            "date": given.isoformat(),
            "at": f"{given.isoformat()}T10:00:00",
            "clinician": f"acl-{CLINICIAN}",
            "indication": INDICATION,
            "product": "onabotulinumtoxinA",
            "sites": [
                {"muscle": "axilla", "side": "left", "units": 50},
                {"muscle": "axilla", "side": "right", "units": 50},
            ],
            "draws": [],
            "acknowledgements": {},
        }
        session_file = folder / "session.json"
        session_file.write_text(json.dumps(document), encoding="utf-8")
        bont_ok("session", "record", str(session_file))
        bont_ok("outcome", "add", "--mrn", MRN, "--indication", INDICATION, "--instrument", "hdss",
              "--date", given.isoformat(), "--value", "4", "--clinician", f"acl-{NURSE}")  # fmt: skip
        bont_ok("adverse-event", "add", "--mrn", MRN, "--event", "ptosis", "--onset", given.isoformat(),
              "--severity", "mild", "--not-serious")  # fmt: skip
        users = {role: get_user_model()._default_manager.get_by_natural_key(f"acl-{role}") for role in ROLES}
        yield Clinic(
            users,
            {
                "chart_key": models.Patient.objects.get(mrn=MRN).chart_key,
                "indication": INDICATION,
                "indication_id": INDICATION,
                "product_id": "onabotulinumtoxinA",
                "session_id": str(models.TreatmentSession.objects.get(patient__mrn=MRN).id),
                "outcome_id": str(models.OutcomeRecord.objects.get(patient__mrn=MRN).id),
                "event_id": str(models.AdverseEvent.objects.get(patient__mrn=MRN).id),
                "token": "no-such-diary-link",
                "username": f"acl-{NURSE}",
            },
        )


def _as_schema_path(route: str) -> str:
    """``api/sessions/<id:session_id>`` as the OpenAPI schema writes it: ``/api/sessions/{session_id}``."""
    return "/" + re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", route)


@cache
def openapi_schema() -> dict[str, Any]:
    """The JSON API's OpenAPI schema, made once: django-ninja builds it afresh on each call (0.16 s)."""
    from bont.web.api import api

    return dict(api.get_openapi_schema())


@cache
def api_operations() -> dict[str, str]:
    """Every operation of the JSON API as "METHOD /api/path", from its OpenAPI schema."""
    paths = openapi_schema()["paths"]
    return {f"{method.upper()} {path}": path for path, operations in paths.items() for method in operations}


@cache
def web_routes() -> dict[str, str]:
    """Every other route of the URL configuration by name (pages, the API's description), with its pattern,
    walked from the resolver."""
    from django.urls import URLPattern, URLResolver, get_resolver

    operation_paths = set(api_operations().values())
    found: dict[str, str] = {}

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if _as_schema_path(route) in operation_paths:
                    continue  # an API operation: ruled by method and path
                assert pattern.name, f"a route without a name cannot have an access rule: {route}"
                found[pattern.name] = route

    walk(get_resolver().url_patterns, "")
    return found


def _filled(route: str, values: Mapping[str, str]) -> str:
    """The route with the clinic's values in its ``<name>`` or ``{name}`` parts (a ``<chart:…>`` part: the
    patient's chart key)."""

    def value(part: re.Match[str]) -> str:
        return quote(values["chart_key" if part[1] == "chart" else part[2] or part[3]], safe="")

    filled = re.sub(r"<(?:([^:>]+):)?([^>]+)>|\{([^}]+)\}", value, route)
    return filled if filled.startswith("/") else f"/{filled}"


def _made_up(schema: Mapping[str, Any], components: Mapping[str, Any]) -> Any:
    """A value the schema accepts: each required field with the first value of its type (a refused id or MRN
    stops it later, in the service)."""
    if "$ref" in schema:
        return _made_up(components[schema["$ref"].rsplit("/", 1)[1]], components)
    for either in ("anyOf", "oneOf", "allOf"):
        if either in schema:
            return _made_up(next(s for s in schema[either] if s.get("type") != "null"), components)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: _made_up(properties.get(name, {}), components) for name in schema.get("required", ())}
    if kind == "array":
        return [_made_up(schema.get("items", {}), components) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        yesterday = date.today() - timedelta(days=1)
        return {"date": yesterday.isoformat(), "date-time": f"{yesterday.isoformat()}T10:00:00"}.get(
            schema.get("format", ""), "x"
        )
    return {"integer": 1, "number": 1, "boolean": False}.get(str(kind), "x")


def _api_body(key: str, rule: Rule, caller: str) -> str:
    schema = openapi_schema()
    method, path = key.split(" ", 1)
    body = schema["paths"][path][method.lower()].get("requestBody")
    if body is None:
        return ""
    made_up = _made_up(body["content"]["application/json"]["schema"], schema.get("components", {}).get("schemas", {}))
    given = {name: caller if value == THE_CALLER else value for name, value in (rule.body or {}).items()}
    return json.dumps({**made_up, **given})


def _call(client: Any, key: str, rule: Rule, values: Mapping[str, str], caller: str) -> Any:
    if key in web_routes():
        path = _filled(web_routes()[key], values)
        return client.post(path) if rule.method == "POST" else client.get(path)
    method, route = key.split(" ", 1)
    return client.generic(method, _filled(route, values), _api_body(key, rule, caller), content_type="application/json")


def _outcome(response: Any) -> str:
    """allowed, denied, or the server error: what the role got."""
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    to_sign_in = status in (301, 302) and "/login/?next=" in response.get("Location", "")
    return "denied" if status in (401, 403) or to_sign_in else "allowed"


def test_every_page_and_api_operation_has_an_access_rule(clinic: Clinic) -> None:
    routes = set(web_routes()) | set(api_operations())
    missing = sorted(routes - set(RULES))
    assert not missing, f"new route without an access rule (add it to RULES): {', '.join(missing)}"
    gone = sorted(set(RULES) - routes)
    assert not gone, f"access rule for a route that no longer exists: {', '.join(gone)}"


@pytest.mark.parametrize("key", sorted(RULES))
def test_each_role_reaches_a_route_only_as_its_rule_says(clinic: Clinic, key: str) -> None:
    rule = RULES[key]
    if key not in web_routes() and key not in api_operations():
        pytest.fail(f"access rule for a route that no longer exists: {key}")
    values = {**clinic.path_values, **rule.path_values}
    wrong = []
    for role in (*ROLES, ANONYMOUS):
        response = _call(_signed_in(clinic, role), key, rule, values, f"acl-{role}")
        got = _outcome(response)
        expected = "allowed" if role in rule.allowed else "denied"
        if got != expected or (expected == "denied" and role != ANONYMOUS and response.status_code != 403):
            wrong.append(f"{role}: expected {expected}, got {response.status_code} {response.get('Location', '')}")
    called = key if key in api_operations() else f"{rule.method} /{web_routes()[key]} ({key})"
    assert not wrong, f"{called}: " + "; ".join(wrong)


def _signed_in(clinic: Clinic, role: str) -> Any:
    """The role's test client, signed in (ANONYMOUS: with no cookie), kept for the module: a new client builds
    Django's middleware chain again and a sign-in writes a session, for each of the matrix's 600 calls. A call that
    signed the role out (the logout route) has it sign in again."""
    from django.test import Client

    client = clinic.clients.get(role)
    if client is None:
        client = clinic.clients[role] = Client(SERVER_NAME="localhost")
    if role == ANONYMOUS:
        client.cookies.clear()
    elif "_auth_user_id" not in client.session:
        client.force_login(clinic.users[role])
    return client


def test_the_patient_diary_shows_no_staff_menu_even_with_staff_signed_in_on_the_device(clinic: Clinic) -> None:
    from bont.bootstrap import clock, outcome_records
    from bont.services.outcomes import create_diary_link

    token = create_diary_link(outcome_records(), MRN, "bladder", clock().today())
    for role in (CLINICIAN, ADMIN):
        page = _signed_in(clinic, role).get(f"/diary/{token}/").content.decode()
        assert "Your bladder diary" in page
        for staff in ("<nav", "Sign out", f"acl-{role}", "/patients/", "/api/docs"):
            assert staff not in page, (role, staff)


def test_billing_reads_claim_lines_without_a_way_into_the_session_page(clinic: Clinic) -> None:
    since = (date.today() - timedelta(days=60)).isoformat()
    claims = _signed_in(clinic, BILLING).get(f"/billing/?start={since}").content.decode()
    assert MRN in claims  # the claim needs the patient
    assert "/sessions/" not in claims
    assert 'href="/sessions/' in _signed_in(clinic, CLINICIAN).get(f"/billing/?start={since}").content.decode()


def test_the_research_page_publishes_no_count_of_one_patient(clinic: Clinic) -> None:
    page = _signed_in(clinic, RESEARCHER).get("/research/").content.decode()
    counts = re.findall(r'<td class="num">([^<]*)</td>', page)
    assert counts  # one patient, one session: every count of it suppressed
    assert set(counts) == {"&lt;11"}, counts
    assert "Statistical Disclosure Control" in page


def test_no_address_carries_an_mrn_and_a_chart_key_of_no_chart_is_a_404(clinic: Clinic) -> None:
    client = _signed_in(clinic, CLINICIAN)
    key = clinic.path_values["chart_key"]
    listing = client.get("/patients/").content.decode()
    assert f'href="/patients/{key}/"' in listing
    chart = client.get(f"/patients/{key}/").content.decode()
    links = re.findall(r'(?:href|action|formaction)="([^"]*)"', chart)
    assert links
    assert not [link for link in links if MRN in link]
    assert client.get(f"/patients/{MRN}/").status_code == 404  # an MRN does not address a chart
    assert client.get("/patients/NoSuchChartKey00/").status_code == 404
    found = client.post("/api/patients/lookup", {"mrn": MRN}, content_type="application/json").json()
    assert found["chart_key"] == key
    assert client.get(f"/api/patients/{key}").json()["mrn"] == MRN
    (searched,) = client.post("/api/patients/search", {"query": "matrix"}, content_type="application/json").json()
    assert (searched["chart_key"], searched["mrn"]) == (key, MRN)
    refused = client.get("/api/patients", {"q": MRN})  # the old search by query string: refused, not unfiltered
    assert (refused.status_code, refused.json()["detail"].split(":")[0]) == (400, "q")
    unknown = client.post("/api/patients/lookup", {"mrn": "NO-SUCH"}, content_type="application/json")
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "mrn: no patient has this MRN"})


def test_an_address_of_nothing_is_a_json_404_under_the_api_and_a_page_elsewhere(clinic: Clinic) -> None:
    client = _signed_in(clinic, CLINICIAN)
    for path in (f"/api/sessions/{2**64}", "/api/no-such-operation", f"/api/patients/{MRN}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "detail" in response.json()  # JSON, as every answer of the API
    page = client.get(f"/sessions/{2**64}/")
    assert page.status_code == 404
    assert "Not found" in page.content.decode()


def test_a_server_error_is_json_under_the_api_and_a_page_elsewhere_naming_nothing_of_the_request(
    clinic: Clinic,
) -> None:
    from django.test import RequestFactory

    from bont.web.views.errors import server_error

    api_error = server_error(RequestFactory().get(f"/api/patients/{MRN}"))
    assert api_error.status_code == 500
    assert json.loads(api_error.content) == {"detail": "Server error: it is logged, without patient data"}
    page = server_error(RequestFactory().get(f"/patients/{MRN}/"))
    assert page.status_code == 500
    assert "Server error" in page.content.decode()
    assert MRN not in page.content.decode()
