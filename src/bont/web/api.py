"""The JSON API under /api/ (django-ninja, OpenAPI at /api/docs): indications, products, plan, check,
patients, sessions and lots, and the record lifecycle (withdrawing a session, an outcome or an adverse event,
correcting a session or an adverse event), with the same role permissions as the pages. Session or bearer-token
authentication. Errors name the field ("reason: ..."); 404 for an unknown id, 409 for a record already
withdrawn or a session the check blocks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.parser import Parser
from ninja.security import HttpBearer, django_auth
from pydantic import ConfigDict, Field

from bont.bootstrap import (
    adverse_events,
    build_knowledge,
    clinical_records,
    clock,
    follow_up_records,
    inventory,
    outcome_records,
    patient_charts,
    patient_registry,
    session_records,
    study_library,
    user_accounts,
)
from bont.domain.errors import FieldError, UnknownIdError
from bont.domain.planning import MuscleChoice, PlanRequest, SideChoice
from bont.domain.populations import Population
from bont.domain.safety import check
from bont.domain.studies import Design, StudyFilter, TrialFilter, TrialStatus, record_as_dict
from bont.interop import strict_json
from bont.interop.check_document import CheckIn
from bont.interop.session_document import SessionIn
from bont.services import documents
from bont.services.adverse_events import (
    AdverseEventCorrection,
    AdverseEventError,
    StoredAdverseEventDetail,
    adverse_event,
    correct_adverse_event,
    withdraw_adverse_event,
)
from bont.services.evidence_library import (
    PER_PAGE,
    EvidenceQueryError,
    library_map,
    search_studies,
    search_trials,
    study_by_key,
    trial_by_nct,
)
from bont.services.follow_up import FOLLOW_UP_PER_PAGE, follow_up_document, follow_up_page
from bont.services.outcomes import correct_outcome, outcome_entry, withdraw_outcome
from bont.services.patients import PatientListRow, find_patients, patient_chart, patient_record
from bont.services.planning import plan_session
from bont.services.ports import UnknownPatientError
from bont.services.records import RecordingError, correct_session, record_session
from bont.services.sessions import SessionError, SessionSummary, patient_sessions, session_detail, withdraw_session
from bont.services.users import token_bearer
from bont.web.access import (
    CORRECTING,
    EVIDENCE,
    IDENTIFIED,
    PATIENT_LIST,
    RECORDING,
    SESSION_WITHDRAWAL,
    remember_roles,
    roles_of,
)
from bont.web.audit_reads import log_read
from bont.web.patient_form import MRN_LENGTH
from bont.web.research_api import router as research_router


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        # Refused when unknown, expired or revoked, or when its user is disabled; the last use is recorded.
        holder = token_bearer(user_accounts(), token, clock().now())
        if holder is None:
            return None
        # Django's auth framework carries the user on the request, read only if an operation needs more of it
        # than its roles, which came with the token (a lazy stand-in, as AuthenticationMiddleware's own).
        user: Any = SimpleLazyObject(partial(get_user_model()._default_manager.get_by_natural_key, holder.username))
        request.user = user
        remember_roles(request, holder.roles)
        return holder.username  # request.auth; not the lazy user, whose truth django-ninja tests


class StrictJsonParser(Parser):
    """Request bodies read as strict JSON, as the command line reads its documents (``bont.interop.strict_json``):
    a key given twice, invalid UTF-8, a NUL character or a 40-digit number is a 400 naming the key or place."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        document: dict[str, Any] = strict_json.loads(request.body)
        return document


api = NinjaAPI(
    parser=StrictJsonParser(),
    title="bont",
    description="Decision support for the therapeutic use of botulinum toxin; not a prescriber.",
    auth=[BearerToken(), django_auth],  # a bearer token first: token clients send no session cookie or CSRF token
    urls_namespace="api",
)


def _require(request: HttpRequest, roles: tuple[str, ...]) -> None:
    if not roles_of(request) & set(roles):
        raise HttpError(403, "your role does not allow this")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    """As django-ninja answers an ``HttpError``, except that a body refused by ``StrictJsonParser`` (which
    django-ninja wraps as "Cannot parse request body") names the key or place at fault."""
    cause = error.__cause__
    detail = f"{cause.field}: {cause.problem}" if isinstance(cause, strict_json.JsonDocumentError) else str(error)
    return api.create_response(request, {"detail": detail}, status=error.status_code)


def _field_error(error: FieldError | UnknownIdError) -> HttpError:
    field = getattr(error, "field", "id")
    return HttpError(400, f"{field}: {getattr(error, 'problem', str(error))}")


@api.get("/indications")
def indications(request: HttpRequest) -> list[dict[str, Any]]:
    knowledge = build_knowledge()
    return [documents.indication_summary(i, knowledge) for i in knowledge.indications.values()]


@api.get("/indications/{indication_id}")
def indication(request: HttpRequest, indication_id: str) -> dict[str, Any]:
    knowledge = build_knowledge()
    try:
        return documents.indication_document(knowledge.indication(indication_id), knowledge)
    except UnknownIdError as error:
        raise HttpError(404, str(error)) from error


@api.get("/products")
def products(request: HttpRequest) -> list[dict[str, Any]]:
    return [documents.product_summary(p) for p in build_knowledge().products.values()]


@api.get("/products/{product_id}")
def product(request: HttpRequest, product_id: str) -> dict[str, Any]:
    try:
        return documents.product_document(build_knowledge().product(product_id))
    except UnknownIdError as error:
        raise HttpError(404, str(error)) from error


class MuscleIn(Schema):
    muscle: str
    side: SideChoice | None = None
    units: Decimal | None = None
    sites: int | None = None


class PlanIn(Schema):
    indication: str
    product: str
    session_date: date | None = Field(default=None, alias="date")  # the field may not shadow the type
    population: Population | None = None
    variant: str | None = None
    age_years: Decimal | None = None
    weight_kg: Decimal | None = None
    side: SideChoice | None = None
    muscles: list[MuscleIn] = Field(default_factory=list)
    optional: list[MuscleIn] = Field(default_factory=list)
    deviation_reason: str | None = None
    vial_units: Decimal | None = None
    diluent_ml: Decimal | None = None


@api.post("/plan")
def plan(request: HttpRequest, body: PlanIn) -> dict[str, Any]:
    _require(request, IDENTIFIED)
    knowledge = build_knowledge()
    try:
        checked = plan_session(
            knowledge,
            PlanRequest(
                indication=body.indication,
                product=body.product,
                on=body.session_date or clock().today(),
                population=body.population,
                variant=body.variant,
                age_years=body.age_years,
                weight_kg=body.weight_kg,
                side=body.side,
                muscles=tuple(MuscleChoice(m.muscle, m.side, m.units, m.sites) for m in body.muscles),
                optional=tuple(MuscleChoice(m.muscle, m.side, m.units, m.sites, optional=True) for m in body.optional),
                deviation_reason=body.deviation_reason,
                vial_units=body.vial_units,
                diluent_ml=body.diluent_ml,
            ),
        )
    except (FieldError, UnknownIdError) as error:
        raise _field_error(error) from error
    return documents.plan_document(checked, knowledge)


@api.post("/check")
def check_plan(request: HttpRequest, body: CheckIn) -> dict[str, Any]:
    _require(request, IDENTIFIED)
    try:
        knowledge = build_knowledge()
        report = check(knowledge, body.to_domain(clock(), knowledge))  # the one safety check, as bont check runs it
    except (FieldError, UnknownIdError) as error:
        raise _field_error(error) from error
    return documents.safety_document(report)


@api.get("/patients")
def patients(request: HttpRequest) -> list[dict[str, Any]]:
    """The first patients by name; ``POST /api/patients/search`` finds by name or MRN (posted, so that no
    name or MRN is in an address)."""
    _require(request, PATIENT_LIST)
    if "q" in request.GET:  # the search this list once took: refused rather than answered unfiltered
        raise HttpError(400, "q: search with POST /api/patients/search, so that no name or MRN is in the address")
    log_read(request, "patient-list")
    return _patient_rows(find_patients(patient_registry()))


class PatientSearch(Schema):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(max_length=100)


@api.post("/patients/search")
def patient_search(request: HttpRequest, search: PatientSearch) -> list[dict[str, Any]]:
    """Patients whose name or MRN contains ``query`` (any case), by name, at most 500."""
    _require(request, PATIENT_LIST)
    log_read(request, "patient-list", object_id="search")
    return _patient_rows(find_patients(patient_registry(), search.query.strip()))


def _patient_rows(rows: tuple[PatientListRow, ...]) -> list[dict[str, Any]]:
    return [
        {
            "chart_key": row.chart_key,
            "mrn": row.mrn,
            "name": row.name,
            "birth_date": row.birth_date.isoformat(),
            "sessions": row.session_count,
        }
        for row in rows
    ]


@api.get("/follow-up")
def follow_up(
    request: HttpRequest,
    page: int = 1,
    per_page: int = FOLLOW_UP_PER_PAGE,
) -> dict[str, Any]:
    """The Follow-up page's rows, a page at a time: the assessments due (most overdue first) and the next sessions
    allowed today of a page of the treated patients (by name). ``per_page`` is at most 200; a page beyond the
    last is the last."""
    _require(request, IDENTIFIED)
    found = follow_up_page(follow_up_records(), build_knowledge(), clock().today(), page, per_page)
    log_read(request, "follow-up-list")
    return follow_up_document(found)


class PatientLookup(Schema):
    model_config = ConfigDict(extra="forbid")
    mrn: str = Field(min_length=1, max_length=MRN_LENGTH)


@api.post("/patients/lookup")
def patient_lookup(request: HttpRequest, lookup: PatientLookup) -> dict[str, Any]:
    """The chart key of the patient with this MRN (in the body, so that no MRN is in any address): the key
    addresses the patient's chart and sessions here and on the pages."""
    _require(request, PATIENT_LIST)
    try:
        record = patient_record(patient_registry(), lookup.mrn)
        chart_key = patient_registry().chart_key(lookup.mrn)
    except UnknownPatientError:
        raise HttpError(404, "mrn: no patient has this MRN") from None
    log_read(request, "patient-lookup", lookup.mrn)
    header = record.header
    return {
        "chart_key": chart_key,
        "mrn": header.mrn,
        "name": f"{header.family_name}, {header.given_name}",
        "birth_date": header.birth_date.isoformat(),
    }


def _mrn_of_chart(chart_key: str) -> str:
    try:
        return patient_registry().mrn_for_chart_key(chart_key)
    except UnknownPatientError:
        raise HttpError(404, "no chart has this key") from None


@api.get("/patients/{chart_key}")
def patient(request: HttpRequest, chart_key: str) -> dict[str, Any]:
    _require(request, IDENTIFIED)
    mrn = _mrn_of_chart(chart_key)
    chart = patient_chart(patient_registry(), patient_charts(), build_knowledge(), mrn, clock().today())
    log_read(request, "chart", mrn)
    return {
        "chart_key": chart_key,
        "mrn": chart.patient.mrn,
        "birth_date": chart.patient.birth_date.isoformat(),
        "sessions": [
            {"date": h.on.isoformat(), "product": h.product, "indication": h.indication, "units": float(h.units)}
            for h in chart.history
        ],
        "cumulative_windows": [
            {
                "product": g.gauge.product,
                "window": g.gauge.window,
                "used": float(g.gauge.used),
                "maximum": None if g.gauge.maximum is None else float(g.gauge.maximum),
            }
            for g in chart.gauges
        ],
        "next_sessions": [documents.next_session_document(n.next) for n in chart.next_sessions],
    }


@api.get("/lots")
def lots(request: HttpRequest) -> list[dict[str, Any]]:
    _require(request, (*IDENTIFIED, "billing"))
    return [
        {
            "product": lot.product,
            "lot": lot.lot_number,
            "expiry": lot.expiry.isoformat(),
            "vial_units": float(lot.vial_units),
            "vials": lot.vials,
            "sealed": lot.sealed,
        }
        for lot in inventory().lots(limit=500)
    ]


def _session_summary(summary: SessionSummary) -> dict[str, Any]:
    return {
        "id": summary.id,
        "date": summary.on.isoformat(),
        "product": summary.product,
        "indication": summary.indication,
        "protocol": summary.protocol,
        "total_units": float(summary.total_units),
        "units_discarded": float(summary.units_discarded),
        "verdict": summary.verdict,
        "withdrawn_reason": summary.withdrawn_reason or None,
        "withdrawn_by": summary.withdrawn_by,
        "corrects": summary.corrects,
        "corrected_by": summary.corrected_by,
        "recorded_by": summary.recorded_by,
        "given_by": summary.injector,
        "given_at": summary.given_at.isoformat() if summary.given_at else None,
    }


@api.get("/patients/{chart_key}/sessions")
def patient_session_list(request: HttpRequest, chart_key: str) -> list[dict[str, Any]]:
    _require(request, IDENTIFIED)
    mrn = _mrn_of_chart(chart_key)
    _, sessions = patient_sessions(session_records(), mrn)
    log_read(request, "sessions", mrn)
    return [_session_summary(s) for s in sessions]


@api.get("/sessions/{id:session_id}")
def session(request: HttpRequest, session_id: int) -> dict[str, Any]:
    """One session: what was given where, the vials and lots, the findings shown and how each was answered."""
    _require(request, IDENTIFIED)
    try:
        detail = session_detail(session_records(), session_id)
    except SessionError:
        raise HttpError(404, "no session with this id") from None
    log_read(request, "session", detail.patient.mrn, session_id)
    return {
        **_session_summary(detail.summary),
        "patient_mrn": detail.patient.mrn,
        "clinician": detail.clinician,
        "override_reason": detail.override_reason or None,
        "deviation_reason": detail.deviation_reason or None,
        "sites": [
            {
                "muscle": s.muscle,
                "side": s.side or None,
                "units": float(s.units),
                "volume_ml": None if s.volume_ml is None else float(s.volume_ml),
            }
            for s in detail.sites
        ],
        "draws": [
            {"vial": d.vial_id, "lot": d.lot_number, "expiry": d.lot_expiry.isoformat(), "units": float(d.units)}
            for d in detail.draws
        ],
        "findings": [
            {
                "severity": f.severity,
                "code": f.code,
                "message": f.message,
                "source": f.source or None,
                "acknowledgement": f.acknowledgement or None,
            }
            for f in detail.findings
        ],
    }


@api.post("/sessions", response={201: dict[str, Any]})
def record(request: HttpRequest, body: SessionIn) -> tuple[int, dict[str, Any]]:
    """Record a session (the document of ``bont session record``, as the signed-in user). The safety check
    runs again on the stored history; 409 when it blocks and no clinician's override is given; nothing is
    written unless everything is."""
    _require(request, RECORDING)
    if body.clinician != request.user.get_username():
        raise HttpError(403, "clinician: sessions are recorded as the signed-in user")
    knowledge = build_knowledge()
    try:
        command = body.to_command(session_records().patient(body.patient_mrn).id, clock())
        session_id = record_session(clinical_records(), knowledge, command)
    except UnknownPatientError as error:
        raise HttpError(404, f"patient_mrn: {error.problem}") from error
    except RecordingError as error:
        raise HttpError(409 if error.field == "override_reason" else 400, f"{error.field}: {error.problem}") from error
    except (FieldError, UnknownIdError) as error:
        raise _field_error(error) from error
    return 201, {"session_id": session_id}


# -- the record lifecycle: withdrawing and correcting


class WithdrawIn(Schema):
    reason: str = Field(max_length=2000)  # bounded, as every string the API stores


class SessionCorrectionIn(SessionIn):
    """The corrected session (the document of ``POST /sessions``) and why the session recorded was wrong."""

    reason: str = Field(max_length=2000)  # bounded, as every string the API stores


class AdverseEventPatch(Schema):
    """The fields to correct; those left out keep their value."""

    model_config = ConfigDict(extra="forbid")

    event: str | None = None
    onset: date | None = None
    severity: str | None = None
    serious: bool | None = None
    outcome: str | None = None
    notes: str | None = None


@api.post("/sessions/{id:session_id}/withdraw")
def session_withdraw(request: HttpRequest, session_id: int, body: WithdrawIn) -> dict[str, Any]:
    """Withdraw a session entered in error (clinicians only): kept with the reason and who withdrew it, it no
    longer counts toward cumulative doses, next dates, responders, follow-up, billing or research."""
    _require(request, SESSION_WITHDRAWAL)
    records = session_records()
    try:
        session_detail(records, session_id)
    except SessionError:
        raise HttpError(404, "session: no session with this id") from None
    try:
        withdraw_session(records, session_id, body.reason, request.user.get_username())
    except SessionError as error:
        status = {"by": 403, "reason": 400}.get(error.field, 409)
        raise HttpError(status, f"{error.field}: {error.problem}") from error
    return _session_summary(session_detail(records, session_id).summary)


@api.post("/sessions/{id:session_id}/correction", response={201: dict[str, Any]})
def session_correction(request: HttpRequest, session_id: int, body: SessionCorrectionIn) -> tuple[int, dict[str, Any]]:
    """Correct a session (clinicians only): it is withdrawn and the corrected session recorded in its place,
    linked to it, in one transaction, through the same safety check (409 when it blocks, with no override).
    The corrected session is recorded as given by the signed-in user or by the session's own clinician."""
    _require(request, SESSION_WITHDRAWAL)
    records = session_records()
    try:
        original = session_detail(records, session_id)
    except SessionError:
        raise HttpError(404, "session: no session with this id") from None
    if body.clinician not in (request.user.get_username(), original.clinician):
        raise HttpError(403, "clinician: the signed-in user or the clinician of the session corrected")
    knowledge = build_knowledge()
    try:
        command = body.to_command(records.patient(body.patient_mrn).id, clock())
        new_id = correct_session(
            clinical_records(), knowledge, session_id, command, body.reason, request.user.get_username()
        )
    except UnknownPatientError as error:
        raise HttpError(404, f"patient_mrn: {error.problem}") from error
    except RecordingError as error:
        status = {"override_reason": 409, "session": 409, "by": 403}.get(error.field, 400)
        raise HttpError(status, f"{error.field}: {error.problem}") from error
    except (FieldError, UnknownIdError) as error:
        raise _field_error(error) from error
    return 201, {"session_id": new_id, "corrects": session_id}


class OutcomeCorrectionIn(Schema):
    value: str | int | dict[str, Any] = Field(description="The right value, as the scale takes it.")
    measured_on: date = Field(alias="date", description="The day it was measured.")
    reason: str = Field(max_length=2000, description="Why the stored value was wrong.")


@api.post("/outcomes/{id:outcome_id}/correction", response={201: dict[str, Any]})
def outcome_correction(request: HttpRequest, outcome_id: int, body: OutcomeCorrectionIn) -> tuple[int, dict[str, Any]]:
    """Correct an outcome measurement entered wrongly (clinicians and nurses), in one step: the wrong version is
    withdrawn ("corrected: REASON", with who corrected it) and the right one stored; 404 for an unknown id, 409
    for a measurement already withdrawn, 400 naming the field for a value the scale refuses."""
    _require(request, CORRECTING)
    try:
        new_id = correct_outcome(
            outcome_records(),
            build_knowledge(),
            outcome_id,
            body.measured_on,
            body.value,
            body.reason,
            request.user.get_username(),
            clock().today(),
        )
    except FieldError as error:
        if error.field == "outcome":
            status = 404 if "no outcome" in error.problem else 409
            raise HttpError(status, f"{error.field}: {error.problem}") from error
        raise HttpError(400, f"{error.field}: {error.problem}") from error
    return 201, {"id": new_id, "corrects": outcome_id}


@api.post("/outcomes/{id:outcome_id}/withdraw")
def outcome_withdraw(request: HttpRequest, outcome_id: int, body: WithdrawIn) -> dict[str, Any]:
    """Withdraw an outcome measurement entered in error (clinicians and nurses): kept with the reason and who
    withdrew it, it no longer counts toward responders, continuation, follow-up or research."""
    _require(request, CORRECTING)
    records, knowledge = outcome_records(), build_knowledge()
    try:
        outcome_entry(records, knowledge, outcome_id)
    except FieldError:
        raise HttpError(404, "outcome: no outcome measurement with this id") from None
    try:
        withdraw_outcome(records, outcome_id, body.reason, request.user.get_username())
    except FieldError as error:
        raise HttpError(400 if error.field == "reason" else 409, f"{error.field}: {error.problem}") from error
    _, entry = outcome_entry(records, knowledge, outcome_id)
    return {
        "id": entry.id,
        "indication": entry.indication_id,
        "instrument": entry.instrument,
        "date": entry.measured_on.isoformat(),
        "value": entry.value,
        "withdrawn_reason": entry.withdrawn_reason or None,
        "withdrawn_by": entry.withdrawn_by,
    }


def _event_document(event: StoredAdverseEventDetail) -> dict[str, Any]:
    return {
        "id": event.id,
        "patient_mrn": event.mrn,
        "event": event.event,
        "onset": event.onset.isoformat(),
        "severity": event.severity,
        "serious": event.serious,
        "outcome": event.outcome,
        "notes": event.notes,
        "session": event.session_id,
        "withdrawn_reason": event.withdrawn_reason or None,
        "withdrawn_by": event.withdrawn_by,
    }


def _stored_event(event_id: int) -> StoredAdverseEventDetail:
    try:
        return adverse_event(adverse_events(), event_id)
    except AdverseEventError:
        raise HttpError(404, "event_id: no adverse event with this id") from None


@api.get("/adverse-events/{id:event_id}")
def adverse_event_detail(request: HttpRequest, event_id: int) -> dict[str, Any]:
    _require(request, IDENTIFIED)
    stored = _stored_event(event_id)
    log_read(request, "adverse-event", stored.mrn, event_id)
    return _event_document(stored)


@api.patch("/adverse-events/{id:event_id}")
def adverse_event_correction(request: HttpRequest, event_id: int, body: AdverseEventPatch) -> dict[str, Any]:
    """Correct an adverse event (clinicians and nurses): the fields given replace the stored ones as a new
    version in the audit trail, with who made it; checked as a new report is. 409 when it is withdrawn."""
    _require(request, CORRECTING)
    stored = _stored_event(event_id)
    if stored.withdrawn:
        raise HttpError(409, "event_id: this adverse event is withdrawn; report it again if it happened")
    correction = AdverseEventCorrection(**body.model_dump())
    try:
        corrected = correct_adverse_event(adverse_events(), clock(), event_id, correction, request.user.get_username())
    except FieldError as error:
        raise HttpError(400, f"{error.field}: {error.problem}") from error
    return _event_document(corrected)


@api.post("/adverse-events/{id:event_id}/withdraw")
def adverse_event_withdraw(request: HttpRequest, event_id: int, body: WithdrawIn) -> dict[str, Any]:
    """Withdraw an adverse event entered in error (clinicians and nurses): kept with the reason and who withdrew
    it, the safety check no longer reads it as a prior reaction."""
    _require(request, CORRECTING)
    _stored_event(event_id)
    try:
        withdraw_adverse_event(adverse_events(), event_id, body.reason, request.user.get_username())
    except FieldError as error:
        raise HttpError(400 if error.field == "reason" else 409, f"{error.field}: {error.problem}") from error
    return _event_document(_stored_event(event_id))


# -- the evidence library: studies, registered trials and the evidence map (any role may read)


class EvidenceLevelOut(Schema):
    scheme: str = Field(description="The grading: AAN 2016, GRADE, …")
    grade: str = Field(description="The level in the scheme's own words: A, B, C, U; high, moderate, low, …")
    indication: str | None = Field(description="The indication graded (none: all the study covers)")
    product: str | None = Field(description="The product graded (none: all the study covers)")
    source: str | None = Field(description="The key of the guideline that gave the grade, when not the study")


class PrimaryResultOut(Schema):
    outcome: str
    effect: str | None
    interval: str | None = Field(description="The 95 % confidence interval as reported")
    p_value: str | None


class StudyOut(Schema):
    """A study as ``bont evidence search --json`` writes it: facts as published, doses in each product's units."""

    key: str
    title: str
    year: int | None
    design: Design
    indications: list[str]
    products: list[str] = Field(description="bont product ids; units of different products are not interchangeable")
    other_products: list[str] = Field(description="Toxins bont does not carry, as the study names them")
    authors: list[str]
    journal: str | None
    citation: str | None = Field(description="volume(issue):pages")
    pmid: str | None
    doi: str | None
    nct: str | None
    population: str | None
    participants: int | None
    doses: str | None
    comparator: str | None
    result: PrimaryResultOut | None
    follow_up: str | None
    levels: list[EvidenceLevelOut]
    source: str | None = Field(description="The knowledge source id protocols and findings cite")
    read_at: list[str] = Field(description="The pages the curated facts were read in")
    unverified: list[str] = Field(description="Fields no page confirmed")
    origin: str = Field(description="curated or imported")
    keywords: list[str]
    imported_fields: list[str] = Field(description="Of a curated study: the fields an import filled, not read")


class StudiesPage(Schema):
    total: int
    total_is_estimate: bool = Field(
        description="The total is an estimate to two significant figures (words in most of a large library)"
    )
    page: int
    pages: int
    studies: list[StudyOut]


class TrialOut(Schema):
    """A registered trial (ClinicalTrials.gov) with what it reported about itself on ``read_on``."""

    nct: str
    title: str
    status: TrialStatus
    indications: list[str]
    products: list[str]
    other_products: list[str]
    phase: str | None
    enrolment: int | None
    sponsor: str | None
    start: date | None
    primary_completion: date | None
    results_posted: bool
    conditions: list[str]
    interventions: list[str]
    primary_outcome: str | None
    read_at: list[str]
    read_on: date | None = Field(description="The status is as of this day")
    unverified: list[str]
    origin: str
    imported_fields: list[str] = Field(description="Of a curated trial: the fields an import filled, not read")


class TrialsPage(Schema):
    total: int
    total_is_estimate: bool = Field(
        description="The total is an estimate to two significant figures (words in most of a large library)"
    )
    page: int
    pages: int
    trials: list[TrialOut]


class MapCellOut(Schema):
    product: str = Field(description="A product id, or 'other' (toxins bont does not carry, or unspecified)")
    studies: int
    strength: str = Field(description="The best guideline grade, else the strongest design, else 'No studies'")
    best_design: Design | None
    best_level: str | None
    trials_ongoing: int


class MapRowOut(Schema):
    indication: str
    cells: list[MapCellOut]


class EvidenceMapOut(Schema):
    products: list[str]
    indications: list[MapRowOut]


def _evidence_query_error(error: EvidenceQueryError) -> HttpError:
    return HttpError(400, f"{'q' if error.field == 'query' else error.field}: {error.problem}")


@api.get("/studies", response=StudiesPage)
def studies(
    request: HttpRequest,
    q: str = "",
    indication: str | None = None,
    product: str | None = None,
    design: Design | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
    level: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> dict[str, Any]:
    """Search the studies as ``bont evidence search`` does: every word of ``q`` must match (each also as a
    prefix) in titles, conditions, interventions or outcomes; the filters narrow; ``level`` keeps studies graded
    at it or better (A, B, C, U; high, moderate, low, very low). The most relevant first, or the latest without
    words; ``per_page`` is at most 200."""
    _require(request, EVIDENCE)
    where = StudyFilter(q, indication, product, design, year_from, year_to, level)
    try:
        found = search_studies(study_library(), build_knowledge(), where, page, per_page)
    except EvidenceQueryError as error:
        raise _evidence_query_error(error) from error
    records = [record_as_dict(study) for study in found.records]
    return {
        "total": found.total,
        "total_is_estimate": found.total_is_estimate,
        "page": found.page,
        "pages": found.pages,
        "studies": records,
    }


@api.get("/studies/{path:key}", response=StudyOut)
def study(request: HttpRequest, key: str) -> dict[str, Any]:
    """One study by its key (``preempt-2``, ``pmid:20647171``, ``doi:10.…``), as the search lists it."""
    _require(request, EVIDENCE)
    try:
        return record_as_dict(study_by_key(study_library(), key))
    except EvidenceQueryError:
        raise HttpError(404, "key: no study of the library has this key") from None


@api.get("/trials", response=TrialsPage)
def trials(
    request: HttpRequest,
    q: str = "",
    indication: str | None = None,
    product: str | None = None,
    status: TrialStatus | None = None,
    phase: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> dict[str, Any]:
    """Search the registered trials as ``bont evidence trials`` does; ``phase`` matches within the phase as
    registered ("2" finds "Phase 2/Phase 3"). By relevance with words, else the latest start first."""
    _require(request, EVIDENCE)
    where = TrialFilter(q, indication, product, status, phase)
    try:
        found = search_trials(study_library(), build_knowledge(), where, page, per_page)
    except EvidenceQueryError as error:
        raise _evidence_query_error(error) from error
    records = [record_as_dict(trial) for trial in found.records]
    return {
        "total": found.total,
        "total_is_estimate": found.total_is_estimate,
        "page": found.page,
        "pages": found.pages,
        "trials": records,
    }


@api.get("/trials/{nct}", response=TrialOut)
def trial(request: HttpRequest, nct: str) -> dict[str, Any]:
    _require(request, EVIDENCE)
    try:
        return record_as_dict(trial_by_nct(study_library(), nct))
    except EvidenceQueryError:
        raise HttpError(404, "nct: no registered trial of the library has this NCT number") from None


@api.get("/evidence-map", response=EvidenceMapOut)
def evidence_map(request: HttpRequest) -> dict[str, Any]:
    """The evidence map as ``bont evidence map --json`` writes it: per indication and product, the number of
    studies, the best guideline grade or the strongest design, and the registered trials still running."""
    _require(request, EVIDENCE)
    grid = library_map(study_library(), build_knowledge())
    return {
        "products": list(grid.products),
        "indications": [
            {
                "indication": indication,
                "cells": [
                    {
                        "product": product,
                        "studies": (cell := grid.cell(indication, product)).studies,
                        "strength": cell.strength,
                        "best_design": cell.best_design,
                        "best_level": str(cell.best_level) if cell.best_level else None,
                        "trials_ongoing": cell.trials_ongoing,
                    }
                    for product in grid.products
                ],
            }
            for indication in grid.indications
        ],
    }


api.add_router("/research", research_router)  # /api/research/...: researchers and administrators only
