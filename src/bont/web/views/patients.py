"""Thin views: read the request, call the services and the records, render a template."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from bont.bootstrap import build_knowledge, clock
from bont.clinic import models
from bont.clinic.outcomes import patient_outcomes
from bont.clinic.repositories import patient_snapshot
from bont.domain.findings import Severity
from bont.services.chart import gauges
from bont.services.next_session import next_sessions
from bont.web.access import IDENTIFIED, PATIENT_LIST, RESEARCH, require_role, roles_of
from bont.web.views.outcomes import outcome_sections


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
    today = clock().today()
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
            {
                "next": n,
                "name": knowledge.indications[n.indication].name,
                "brand": knowledge.products[n.product].brand,
                "now": n.earliest == today,
                "later_recommended": n.recommended is not None and n.recommended != n.earliest,
            }
            for n in next_sessions(knowledge, patient, history, today)
        ],
        "warnings": warnings,
        "adverse_events": row.adverse_events.order_by("-onset"),
        "outcomes": [
            {"indication": o.indication, "sections": outcome_sections(o)}
            for o in patient_outcomes(knowledge, row, today)
        ],
    }
    return render(request, "web/chart.html", context)


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
