"""Adverse events: the clinic's list, and reporting one against a patient and the session suspected."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from bont.bootstrap import adverse_events, build_knowledge, clock
from bont.domain.errors import FieldError
from bont.services.adverse_events import (
    SEVERITIES,
    AdverseEventReport,
    list_adverse_events,
    onset_problems,
    report_adverse_event,
    reporting_form,
)
from bont.services.ports import UnknownPatientError
from bont.web.access import IDENTIFIED, RECORDING, require_role

# Offered as suggestions only, after the terms the safety check recognises (adverse-events.yaml): the event is
# free text, because patients report what they report.
OTHER_EVENTS = (
    "injection-site pain",
    "headache",
    "flu-like symptoms",
    "faecal incontinence",
    "facial asymmetry",
    "dry eye",
    "hypersensitivity reaction",
)


@require_role(*IDENTIFIED)
def events(request: HttpRequest) -> HttpResponse:
    knowledge = build_knowledge()
    product = request.GET.get("product", "")
    return render(
        request,
        "web/events.html",
        {
            "events": list_adverse_events(adverse_events(), knowledge, product),
            "products": list(knowledge.products.values()),
            "product": product,
        },
    )


@require_role(*RECORDING)
def event_new(request: HttpRequest, mrn: str) -> HttpResponse:
    port = adverse_events()
    knowledge = build_knowledge()
    try:
        patient = reporting_form(port, mrn)
    except UnknownPatientError:
        raise Http404("no patient has this MRN") from None
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
            if values["session"].isdigit():
                session_id = int(values["session"])
            else:
                errors["session"] = "choose one of this patient's sessions"
        if onset is not None:
            errors.update(onset_problems(patient, onset, session_id, clock().today()))
        if values.get("severity") not in SEVERITIES:
            errors["severity"] = "choose how severe it was"
        serious = {"yes": True, "no": False}.get(values.get("serious", ""))
        if serious is None:
            errors["serious"] = "say whether it was serious"
        if not errors and onset is not None:
            try:
                report_adverse_event(
                    port,
                    clock(),
                    AdverseEventReport(
                        mrn=mrn,
                        event=event,
                        onset=onset,
                        severity=values["severity"],
                        serious=serious,
                        session_id=session_id,
                        outcome=values.get("outcome", "").strip()[:60],
                        notes=values.get("notes", "").strip(),
                    ),
                )
            except FieldError as error:
                errors[error.field] = error.problem
            else:
                messages.success(request, "Adverse event recorded.")
                return redirect("chart", mrn=mrn)
    return render(
        request,
        "web/event_new.html",
        {
            "patient": patient,
            "sessions": patient.choices,
            "values": values,
            "errors": errors,
            "severities": SEVERITIES,
            "seriousness": knowledge.seriousness,
            "common_events": [term.name.lower() for term in knowledge.adverse_event_terms.values()]
            + list(OTHER_EVENTS),
        },
        status=400 if errors else 200,
    )
