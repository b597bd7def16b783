"""Thin views: read the request, call a service, render a template."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from bont.bootstrap import build_knowledge, clock, outcome_records, patient_charts, patient_registry
from bont.services.outcomes import outcome_entries, patient_outcomes
from bont.services.patients import audit_trail, find_patients, patient_chart
from bont.services.ports import UnknownPatientError
from bont.web.access import CORRECTING, IDENTIFIED, PATIENT_LIST, RESEARCH, require_role, roles_of
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
    rows = find_patients(patient_registry(), query, limit=200)
    return render(request, "web/patients.html", {"patients": rows, "query": query})


@require_role(*IDENTIFIED)
def chart(request: HttpRequest, mrn: str) -> HttpResponse:
    knowledge = build_knowledge()
    today = clock().today()
    try:
        read = patient_chart(patient_registry(), patient_charts(), knowledge, mrn, today)
    except UnknownPatientError:
        raise Http404("no patient has this MRN") from None
    context = {
        "patient": read.patient,
        "age": read.age,
        "weight": read.weight,
        "sessions": read.sessions,
        "gauges": read.gauges,
        "next_sessions": read.next_sessions,
        "conditions": read.conditions,
        "warnings": read.warnings,
        "adverse_events": read.active_adverse_events,
        "withdrawn_adverse_events": read.withdrawn_adverse_events,
        "may_correct": bool(roles_of(request) & set(CORRECTING)),
        "outcome_entries": outcome_entries(outcome_records(), knowledge, mrn),
        "outcomes": [
            {"indication": o.indication, "sections": outcome_sections(o)}
            for o in patient_outcomes(outcome_records(), knowledge, mrn, today)
        ],
    }
    return render(request, "web/chart.html", context)


@require_role(*IDENTIFIED)
def audit(request: HttpRequest, mrn: str) -> HttpResponse:
    """Every version of the patient's record and sessions: who changed what, and when."""
    try:
        patient, entries = audit_trail(patient_registry(), mrn)
    except UnknownPatientError:
        raise Http404("no patient has this MRN") from None
    return render(request, "web/audit.html", {"patient": patient, "entries": entries})
