"""The JSON API under /api/ (django-ninja, OpenAPI at /api/docs): indications, products, plan, check,
patients, sessions and lots, with the same role permissions as the pages. Session or bearer-token authentication."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.security import HttpBearer, django_auth
from pydantic import Field

from bont.bootstrap import build_knowledge, clinical_records, clock
from bont.clinic import models
from bont.clinic.registry import hash_token
from bont.clinic.repositories import patient_snapshot
from bont.domain.errors import FieldError, UnknownIdError
from bont.domain.planning import MuscleChoice, PlanRequest, SideChoice
from bont.domain.populations import Population
from bont.domain.safety import check
from bont.interop.check_document import CheckIn
from bont.interop.session_document import SessionIn
from bont.services import documents
from bont.services.chart import gauges
from bont.services.next_session import next_sessions
from bont.services.planning import plan_session
from bont.services.records import RecordingError, record_session
from bont.web.access import IDENTIFIED, PATIENT_LIST, RECORDING, roles_of


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = models.ApiToken.objects.select_related("user").filter(key_hash=hash_token(token)).first()
        if row is None or not row.user.is_active:
            return None
        request.user = row.user
        return row.user


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
        report = check(build_knowledge(), body.to_domain(clock()))
    except (FieldError, UnknownIdError) as error:
        raise _field_error(error) from error
    return documents.safety_document(report)


@api.get("/patients")
def patients(request: HttpRequest, q: str = "") -> list[dict[str, Any]]:
    _require(request, PATIENT_LIST)
    from bont.clinic.registry import list_patients

    return list_patients(q)


@api.get("/patients/{mrn}")
def patient(request: HttpRequest, mrn: str) -> dict[str, Any]:
    _require(request, IDENTIFIED)
    knowledge = build_knowledge()
    row = models.Patient.objects.filter(mrn=mrn).first()
    if row is None:
        raise HttpError(404, "no patient has this MRN")
    today = clock().today()
    snapshot, history = patient_snapshot(row, today)
    return {
        "mrn": row.mrn,
        "birth_date": row.birth_date.isoformat(),
        "sessions": [
            {"date": h.on.isoformat(), "product": h.product, "indication": h.indication, "units": float(h.units)}
            for h in history
        ],
        "cumulative_windows": [
            {
                "product": g.product,
                "window": g.window,
                "used": float(g.used),
                "maximum": None if g.maximum is None else float(g.maximum),
            }
            for g in gauges(knowledge, snapshot, history, today)
        ],
        "next_sessions": [
            documents.next_session_document(n) for n in next_sessions(knowledge, snapshot, history, today)
        ],
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
            "vials": lot.vials.count(),
            "sealed": lot.vials.filter(state=models.Vial.State.SEALED).count(),
        }
        for lot in models.Lot.objects.order_by("expiry")[:500]
    ]


def _session_summary(row: models.TreatmentSession) -> dict[str, Any]:
    return {
        "id": row.pk,
        "date": row.date.isoformat(),
        "product": row.product,
        "indication": row.indication,
        "protocol": row.protocol,
        "total_units": float(row.total_units),
        "units_discarded": float(row.units_discarded),
        "verdict": row.verdict,
        "withdrawn_reason": row.withdrawn_reason or None,
    }


@api.get("/patients/{mrn}/sessions")
def patient_sessions(request: HttpRequest, mrn: str) -> list[dict[str, Any]]:
    _require(request, IDENTIFIED)
    row = models.Patient.objects.filter(mrn=mrn).first()
    if row is None:
        raise HttpError(404, "no patient has this MRN")
    return [_session_summary(s) for s in row.sessions.order_by("date", "pk")]


@api.get("/sessions/{session_id}")
def session(request: HttpRequest, session_id: int) -> dict[str, Any]:
    """One session: what was given where, the vials and lots, the findings shown and how each was answered."""
    _require(request, IDENTIFIED)
    row = models.TreatmentSession.objects.select_related("patient", "clinician").filter(pk=session_id).first()
    if row is None:
        raise HttpError(404, "no session with this id")
    return {
        **_session_summary(row),
        "patient_mrn": row.patient.mrn,
        "clinician": row.clinician.get_username(),
        "override_reason": row.override_reason or None,
        "deviation_reason": row.deviation_reason or None,
        "sites": [
            {
                "muscle": s.muscle,
                "side": s.side or None,
                "units": float(s.units),
                "volume_ml": None if s.volume_ml is None else float(s.volume_ml),
            }
            for s in row.sites.order_by("pk")
        ],
        "draws": [
            {
                "vial": d.vial_id,
                "lot": d.vial.lot.lot_number,
                "expiry": d.vial.lot.expiry.isoformat(),
                "units": float(d.units),
            }
            for d in row.draws.select_related("vial__lot").order_by("pk")
        ],
        "findings": [
            {
                "severity": f.severity,
                "code": f.code,
                "message": f.message,
                "source": f.source or None,
                "acknowledgement": f.acknowledgement or None,
            }
            for f in row.findings.order_by("pk")
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
    from bont.clinic.registry import RecordsError, patient_id

    knowledge = build_knowledge()
    try:
        command = body.to_command(patient_id(body.patient_mrn), clock())
        session_id = record_session(clinical_records(), knowledge, command)
    except RecordsError as error:
        raise HttpError(404, f"patient_mrn: {error.problem}") from error
    except RecordingError as error:
        raise HttpError(409 if error.field == "override_reason" else 400, f"{error.field}: {error.problem}") from error
    except (FieldError, UnknownIdError) as error:
        raise _field_error(error) from error
    return 201, {"session_id": session_id}
