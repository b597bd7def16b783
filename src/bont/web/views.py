"""Thin views: read the request, call the services and the records, render a template."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from bont.bootstrap import build_knowledge
from bont.clinic import models
from bont.clinic.repositories import patient_snapshot
from bont.domain.findings import Severity
from bont.services.chart import gauges, next_sessions
from bont.web.access import IDENTIFIED, PATIENT_LIST, RESEARCH, require_role, roles_of


@login_required
def home(request: HttpRequest) -> HttpResponse:
    roles = roles_of(request)
    if roles & set(PATIENT_LIST):
        return redirect("patients")
    if roles & set(RESEARCH):
        return redirect("research")
    return render(request, "web/no_role.html", status=403)


@require_role(*PATIENT_LIST)
def patients(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    rows = models.Patient.objects.annotate(session_count=Count("sessions")).order_by("family_name", "given_name")
    if query:
        rows = rows.filter(Q(mrn__icontains=query) | Q(family_name__icontains=query) | Q(given_name__icontains=query))
    return render(request, "web/patients.html", {"patients": rows[:200], "query": query})


@require_role(*IDENTIFIED)
def chart(request: HttpRequest, mrn: str) -> HttpResponse:
    knowledge = build_knowledge()
    row = get_object_or_404(models.Patient, mrn=mrn)
    today = date.today()
    patient, history = patient_snapshot(row, today)
    sessions = row.sessions.order_by("-date").prefetch_related("findings")
    warnings = []
    for term in patient.conditions:
        condition = knowledge.find_condition(term)
        if condition is not None:
            warnings.append(f"{condition.name} ({term})")
    for medication in patient.medications:
        for drug_class in knowledge.find_drug_classes(medication):
            warnings.append(f"{medication}: {drug_class.name.lower()}")
    warnings += [f"allergy: {allergy}" for allergy in patient.allergies]
    if patient.pregnant:
        warnings.append("pregnant")
    if patient.breastfeeding:
        warnings.append("breastfeeding")
    context = {
        "patient": row,
        "age": patient.age_on(today),
        "weight": patient.weight_kg,
        "sessions": [
            {
                "session": s,
                "brand": knowledge.products[s.product].brand if s.product in knowledge.products else s.product,
                "indication": knowledge.indications[s.indication].name
                if s.indication in knowledge.indications
                else s.indication,
                "blocking": [f for f in s.findings.all() if f.severity == Severity.BLOCK],
            }
            for s in sessions
        ],
        "gauges": [{"gauge": g, "percent": int(g.fraction * 100)} for g in gauges(knowledge, patient, history, today)],
        "next_sessions": [
            {"next": n, "name": knowledge.indications[n.indication].name, "due": n.earliest <= today}
            for n in next_sessions(knowledge, patient, history, today)
        ],
        "warnings": warnings,
        "adverse_events": row.adverse_events.order_by("-onset"),
    }
    return render(request, "web/chart.html", context)


@require_role(*RESEARCH)
def research(request: HttpRequest) -> HttpResponse:
    """De-identified: counts only, never names, MRNs or dates of birth."""
    knowledge = build_knowledge()
    rows = (
        models.TreatmentSession.objects.filter(withdrawn_reason="")
        .values("indication", "product")
        .annotate(sessions=Count("id"), patients=Count("patient", distinct=True))
        .order_by("indication", "product")
    )
    table = [
        {
            **row,
            "indication_name": knowledge.indications[row["indication"]].name,
            "brand": knowledge.products[row["product"]].brand,
        }
        for row in rows
        if row["indication"] in knowledge.indications and row["product"] in knowledge.products
    ]
    return render(request, "web/research.html", {"rows": table})


@require_role(*IDENTIFIED)
def plan_builder(request: HttpRequest) -> HttpResponse:
    """Choose indication and product; the protocol fills in; adjust the units; the plan, its findings and the
    body map are recomputed on every submit. With a patient, the safety check runs on the stored history."""
    from decimal import Decimal, InvalidOperation

    from bont.domain.anatomy import DiagramView
    from bont.domain.errors import FieldError, UnknownIdError
    from bont.domain.planning import MuscleChoice, PlanRequest, SideChoice, make_plan
    from bont.domain.safety import CheckRequest, SessionPlan, SessionSite, check
    from bont.services.documents import plan_document
    from bont.web.bodymap import VIEW_TITLES, dots

    knowledge = build_knowledge()
    params = request.GET
    context: dict[str, object] = {
        "indications": sorted(knowledge.indications.values(), key=lambda i: i.name),
        "products": list(knowledge.products.values()),
        "params": params,
        "sides": [s.value for s in SideChoice],
    }
    indication_id, product_id = params.get("indication", ""), params.get("product", "")
    if not indication_id or not product_id:
        return render(request, "web/plan.html", context)

    def number(name: str) -> Decimal | None:
        text = params.get(name, "").strip()
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise FieldError(name, "is not a number") from None
        if not value.is_finite() or value <= 0 or value > 100000:
            raise FieldError(name, "must be a number more than 0")
        return value

    errors: dict[str, str] = {}
    try:
        patient_row = None
        age = number("age")
        weight = number("weight_kg")
        if params.get("mrn"):
            patient_row = models.Patient.objects.filter(mrn=params["mrn"]).first()
            if patient_row is None:
                raise FieldError("mrn", "no patient has this MRN")
        today = date.today()
        snapshot = patient_snapshot(patient_row, today) if patient_row else None
        if snapshot is not None:
            age = age or snapshot[0].age_on(today)
            weight = weight or snapshot[0].weight_kg
        chosen_rows = [key.removeprefix("units:") for key in params if key.startswith("units:")]
        muscles = tuple(
            MuscleChoice(muscle, units=number(f"units:{muscle}"))
            for muscle in chosen_rows
            if params.get(f"include:{muscle}") == "on"
        )
        side = params.get("side") or None
        plan = make_plan(
            knowledge,
            PlanRequest(
                indication=indication_id,
                product=product_id,
                on=today,
                age_years=age,
                weight_kg=weight,
                side=SideChoice(side) if side else None,
                variant=params.get("variant") or None,
                muscles=muscles,
                deviation_reason=params.get("deviation_reason") or None,
            ),
        )
        document = plan_document(plan, knowledge)
        if snapshot is not None:
            report = check(
                knowledge,
                CheckRequest(
                    on=today,
                    patient=snapshot[0],
                    plan=SessionPlan(
                        plan.product,
                        plan.indication,
                        plan.total_units.amount,
                        tuple(SessionSite(s.muscle, s.side.value, s.units.amount, s.volume_ml) for s in plan.sites),
                    ),
                    history=snapshot[1],
                ),
            )
            document["verdict"] = str(report.verdict)
            document["findings"] += [
                {
                    "severity": str(f.severity),
                    "code": f.code,
                    "message": f.message,
                    "source": {"id": f.source.source.id, "grade": str(f.source.grade)} if f.source else None,
                }
                for f in report.findings
            ]
        context.update(
            {
                "plan": document,
                "protocol": plan.protocol,
                "rows": [
                    {
                        "muscle": row.muscle,
                        "name": knowledge.targets[row.muscle].name,
                        "side": str(row.laterality),
                        "planned": next((m["units"] for m in document["muscles"] if m["muscle"] == row.muscle), None),
                        "range": str(row.units.value)
                        if row.units
                        else (str(row.units_per_kg.value) if row.units_per_kg else "—"),
                    }
                    for row in plan.protocol.muscles
                    if not row.optional
                ],
                "map": [
                    {"title": VIEW_TITLES[DiagramView(view)], "view": view, "dots": points}
                    for view, points in dots(knowledge, plan).items()
                ],
            }
        )
    except (FieldError, UnknownIdError) as error:
        field = getattr(error, "field", "indication")
        errors[field] = getattr(error, "problem", str(error))
    context["errors"] = errors
    return render(request, "web/plan.html", context)


@require_role("clinician", "nurse", "billing", "admin")
def inventory(request: HttpRequest) -> HttpResponse:
    """Lots by expiry (those expiring within 60 days flagged), open vials with their remaining beyond-use time,
    and a recall look-up by lot number."""
    from datetime import timedelta

    from django.utils import timezone

    knowledge = build_knowledge()
    today = date.today()
    lots = []
    for lot in models.Lot.objects.order_by("expiry")[:300]:
        brand = knowledge.products[lot.product].brand if lot.product in knowledge.products else lot.product
        sealed = lot.vials.filter(state=models.Vial.State.SEALED).count()
        lots.append(
            {
                "lot": lot,
                "brand": brand,
                "sealed": sealed,
                "soon": lot.expiry <= today + timedelta(days=60),
                "expired": lot.expiry < today,
            }
        )
    now = timezone.now()
    open_vials = []
    for vial in models.Vial.objects.filter(state=models.Vial.State.RECONSTITUTED).select_related("lot")[:300]:
        product = knowledge.products.get(vial.lot.product)
        hours = product.beyond_use_hours.value if product and product.beyond_use_hours else None
        left = None
        if hours is not None and vial.reconstituted_at is not None:
            left = round((vial.reconstituted_at + timedelta(hours=hours) - now).total_seconds() / 3600, 1)
        open_vials.append(
            {
                "vial": vial,
                "brand": product.brand if product else vial.lot.product,
                "remaining_units": vial.lot.vial_units - vial.units_drawn,
                "hours_left": left,
            }
        )
    recall_lot = request.GET.get("recall", "").strip()
    recalled = None
    if recall_lot:
        draws = models.VialDraw.objects.filter(vial__lot__lot_number=recall_lot).select_related("session__patient")
        recalled = sorted({(d.session.patient.mrn, d.session.date.isoformat()) for d in draws})
        if (
            "clinician" not in roles_of(request)
            and "nurse" not in roles_of(request)
            and "admin" not in roles_of(request)
        ):
            recalled = [("(identified: ask a clinician)", day) for _, day in recalled]
    return render(
        request,
        "web/inventory.html",
        {"lots": lots, "open_vials": open_vials, "recall": recall_lot, "recalled": recalled},
    )


@require_role(*IDENTIFIED)
def audit(request: HttpRequest, mrn: str) -> HttpResponse:
    """Every version of the patient's record and sessions: who changed what, and when."""
    row = get_object_or_404(models.Patient, mrn=mrn)
    entries = []
    for version in row.history.all():
        entries.append(
            {
                "when": version.history_date,
                "who": version.history_user,
                "what": "patient record",
                "type": version.get_history_type_display(),
            }
        )
    for version in models.TreatmentSession.history.filter(patient_id=row.pk):
        entries.append(
            {
                "when": version.history_date,
                "who": version.history_user,
                "what": f"session {version.id} ({version.date:%Y-%m-%d}, {version.indication})",
                "type": version.get_history_type_display(),
            }
        )
    entries.sort(key=lambda e: e["when"], reverse=True)
    return render(request, "web/audit.html", {"patient": row, "entries": entries})
