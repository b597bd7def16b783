"""Adverse events: the clinic's list, and reporting one against a patient and the session suspected."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from bont.bootstrap import build_knowledge
from bont.clinic import models
from bont.clinic.registry import RecordsError, add_adverse_event, check_day
from bont.web.access import IDENTIFIED, RECORDING, require_role

# Offered as suggestions only: the event is free text, because patients report what they report.
COMMON_EVENTS = (
    "ptosis",
    "dysphagia",
    "neck weakness",
    "dry mouth",
    "diplopia",
    "injection-site pain",
    "headache",
    "flu-like symptoms",
    "generalised weakness",
    "breathing difficulty",
    "urinary retention",
    "urinary tract infection",
    "faecal incontinence",
    "facial asymmetry",
    "dry eye",
    "hypersensitivity reaction",
)


@require_role(*IDENTIFIED)
def events(request: HttpRequest) -> HttpResponse:
    knowledge = build_knowledge()
    rows = models.AdverseEvent.objects.select_related("patient", "suspected_session").order_by("-onset", "-pk")
    product = request.GET.get("product", "")
    if product:
        rows = rows.filter(suspected_session__product=product)
    return render(
        request,
        "web/events.html",
        {
            "events": [
                {
                    "event": e,
                    "brand": knowledge.products[e.suspected_session.product].brand
                    if e.suspected_session and e.suspected_session.product in knowledge.products
                    else "",
                }
                for e in rows[:500]
            ],
            "products": list(knowledge.products.values()),
            "product": product,
        },
    )


@require_role(*RECORDING)
def event_new(request: HttpRequest, mrn: str) -> HttpResponse:
    patient = get_object_or_404(models.Patient, mrn=mrn)
    sessions = patient.sessions.filter(withdrawn_reason="").order_by("-date")
    values = request.POST if request.method == "POST" else request.GET
    errors: dict[str, str] = {}
    if request.method == "POST":
        event = values.get("event", "").strip()
        if not event:
            errors["event"] = "describe the event"
        elif len(event) > 60:
            errors["event"] = "at most 60 characters (details go in the notes)"
        onset = None
        try:
            onset = date.fromisoformat(values.get("onset", ""))
        except ValueError:
            errors["onset"] = "is not a date (YYYY-MM-DD)"
        session_id = None
        if values.get("session"):
            suspected = sessions.filter(pk=values["session"]).first() if values["session"].isdigit() else None
            if suspected is None:
                errors["session"] = "choose one of this patient's sessions"
            else:
                session_id = suspected.pk
                if onset is not None and onset < suspected.date:
                    errors["onset"] = "is before the suspected session"
        if onset is not None and "onset" not in errors:
            try:
                check_day(patient, onset, "onset")
            except RecordsError as error:
                errors[error.field] = error.problem
        if values.get("severity") not in models.AdverseEvent.Severity.values:
            errors["severity"] = "choose how severe it was"
        if not errors and onset is not None:
            try:
                add_adverse_event(
                    mrn,
                    event,
                    onset,
                    values["severity"],
                    session_id,
                    values.get("outcome", "").strip()[:60],
                    values.get("notes", "").strip(),
                )
            except RecordsError as error:
                errors[error.field] = error.problem
            else:
                messages.success(request, "Adverse event recorded.")
                return redirect("chart", mrn=mrn)
    return render(
        request,
        "web/event_new.html",
        {
            "patient": patient,
            "sessions": sessions,
            "values": values,
            "errors": errors,
            "severities": models.AdverseEvent.Severity.values,
            "common_events": COMMON_EVENTS,
        },
        status=400 if errors else 200,
    )
