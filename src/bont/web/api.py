"""The JSON API under /api/ (django-ninja, OpenAPI at /api/docs): indications, products, plan, check,
patients, sessions and lots, with the same role permissions as the pages. Session or bearer-token authentication."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.security import HttpBearer, django_auth
from pydantic import Field

from bont.bootstrap import (
    build_knowledge,
    clinical_records,
    clock,
    inventory,
    patient_charts,
    patient_registry,
    session_records,
    user_accounts,
)
from bont.domain.errors import FieldError, UnknownIdError
from bont.domain.planning import MuscleChoice, PlanRequest, SideChoice
from bont.domain.populations import Population
from bont.domain.safety import check
from bont.interop.check_document import CheckIn
from bont.interop.session_document import SessionIn
from bont.services import documents
from bont.services.patients import find_patients, patient_chart
from bont.services.planning import plan_session
from bont.services.ports import UnknownPatientError
from bont.services.records import RecordingError, record_session
from bont.services.sessions import SessionError, SessionSummary, patient_sessions, session_detail
from bont.services.users import authenticate_token
from bont.web.access import IDENTIFIED, PATIENT_LIST, RECORDING, roles_of


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        username = authenticate_token(user_accounts(), token)
        if username is None:
            return None
        # Django's auth framework carries the user (and its groups, the roles) on the request.
        user = get_user_model()._default_manager.get_by_natural_key(username)
        request.user = user
        return user


api = NinjaAPI(
    title="bont",
    description="Decision support for the therapeutic use of botulinum toxin; not a prescriber.",
    auth=[BearerToken(), django_auth],  # a bearer token first: token clients send no session cookie or CSRF token
    urls_namespace="api",
)


def _require(request: HttpRequest, roles: tuple[str, ...]) -> None:
    if not roles_of(request) & set(roles):
        raise HttpError(403, "your role does not allow this")


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
def patients(request: HttpRequest, q: str = "") -> list[dict[str, Any]]:
    _require(request, PATIENT_LIST)
    return [
        {"mrn": row.mrn, "name": row.name, "birth_date": row.birth_date.isoformat(), "sessions": row.session_count}
        for row in find_patients(patient_registry(), q)
    ]


@api.get("/patients/{mrn}")
def patient(request: HttpRequest, mrn: str) -> dict[str, Any]:
    _require(request, IDENTIFIED)
    try:
        chart = patient_chart(patient_registry(), patient_charts(), build_knowledge(), mrn, clock().today())
    except UnknownPatientError:
        raise HttpError(404, "no patient has this MRN") from None
    return {
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
    }


@api.get("/patients/{mrn}/sessions")
def patient_session_list(request: HttpRequest, mrn: str) -> list[dict[str, Any]]:
    _require(request, IDENTIFIED)
    try:
        _, sessions = patient_sessions(session_records(), mrn)
    except UnknownPatientError:
        raise HttpError(404, "no patient has this MRN") from None
    return [_session_summary(s) for s in sessions]


@api.get("/sessions/{session_id}")
def session(request: HttpRequest, session_id: int) -> dict[str, Any]:
    """One session: what was given where, the vials and lots, the findings shown and how each was answered."""
    _require(request, IDENTIFIED)
    try:
        detail = session_detail(session_records(), session_id)
    except SessionError:
        raise HttpError(404, "no session with this id") from None
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
