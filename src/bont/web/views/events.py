"""Adverse events: the clinic's list, reporting one against a patient and the session suspected, and correcting
or withdrawing one (clinicians and nurses)."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from bont.bootstrap import adverse_events, build_knowledge, clock
from bont.domain.errors import FieldError
from bont.services.adverse_events import (
    EVENT_LENGTH,
    SEVERITIES,
    AdverseEventCorrection,
    AdverseEventError,
    AdverseEventReport,
    StoredAdverseEventDetail,
    adverse_event,
    correct_adverse_event,
    correction_problems,
    list_adverse_events,
    onset_problems,
    report_adverse_event,
    reporting_form,
    withdraw_adverse_event,
)
from bont.services.ports import UnknownPatientError
from bont.web.access import CORRECTING, IDENTIFIED, RECORDING, require_role, roles_of
from bont.web.audit_reads import log_read
from bont.web.patient_banner import patient_banner

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


# ICH E2B(R3), data element E.i.7 "Outcome of reaction/event at the time of last observation": the outcomes a
# report chooses from (details go in the notes). Older events hold free text, shown as it was recorded.
STANDARD_OUTCOMES = (
    "recovered/resolved",
    "recovering/resolving",
    "not recovered/not resolved/ongoing",
    "recovered/resolved with sequelae",
    "fatal",
    "unknown",
)
NOTES_LENGTH = 4000  # as the form states: a narrative, not a document


def _text_problems(values: QueryDict, recorded_outcome: str = "") -> dict[str, str]:
    """The event's name, its outcome (a standard outcome, or the free text it was recorded with) and the notes
    within what the form states: refused beside the field, never cut."""
    problems: dict[str, str] = {}
    event = values.get("event", "").strip()
    if not event:
        problems["event"] = "describe the event"
    elif len(event) > EVENT_LENGTH:
        problems["event"] = f"at most {EVENT_LENGTH} characters (details go in the notes)"
    outcome = values.get("outcome", "").strip()
    if outcome and outcome not in STANDARD_OUTCOMES and outcome != recorded_outcome:
        problems["outcome"] = "choose one of the outcomes listed (details go in the notes)"
    if len(values.get("notes", "").strip()) > NOTES_LENGTH:
        problems["notes"] = f"at most {NOTES_LENGTH} characters"
    return problems


def _form_limits() -> dict[str, object]:
    return {"event_length": EVENT_LENGTH, "notes_length": NOTES_LENGTH, "outcomes": STANDARD_OUTCOMES}


@require_role(*IDENTIFIED)
def events(request: HttpRequest) -> HttpResponse:
    knowledge = build_knowledge()
    product = request.GET.get("product", "")
    log_read(request, "adverse-event-list", object_id=product)
    return render(
        request,
        "web/events.html",
        {
            "events": list_adverse_events(adverse_events(), knowledge, product),
            "products": list(knowledge.products.values()),
            "product": product,
            "may_correct": bool(roles_of(request) & set(CORRECTING)),
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
        errors.update(_text_problems(values))
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
                        event=values.get("event", "").strip(),
                        onset=onset,
                        severity=values["severity"],
                        serious=serious,
                        session_id=session_id,
                        outcome=values.get("outcome", "").strip(),
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
            "banner": patient_banner(knowledge, mrn, clock().today()),
            "patient": patient,
            "sessions": patient.choices,
            "values": values,
            "errors": errors,
            "severities": SEVERITIES,
            "seriousness": knowledge.seriousness,
            "common_events": [term.name.lower() for term in knowledge.adverse_event_terms.values()]
            + list(OTHER_EVENTS),
            **_form_limits(),
        },
        status=400 if errors else 200,
    )


REASON_LENGTH = 2000  # a withdrawal's reason, as the form states


def _stored_event(event_id: int) -> StoredAdverseEventDetail:
    try:
        return adverse_event(adverse_events(), event_id)
    except AdverseEventError:
        raise Http404("no adverse event with this id") from None


def _correction(stored: StoredAdverseEventDetail, values: QueryDict, errors: dict[str, str]) -> AdverseEventCorrection:
    """The fields of the form that differ from the stored event; problems reading them go in ``errors``."""
    onset = None
    try:
        onset = date.fromisoformat(values.get("onset", ""))
    except ValueError:
        errors["onset"] = "is not a date (YYYY-MM-DD)"
    serious = {"yes": True, "no": False}.get(values.get("serious", ""))
    if serious is None:
        errors["serious"] = "say whether it was serious"
    event = values.get("event", "").strip()
    severity = values.get("severity", "")
    outcome = values.get("outcome", "").strip()
    notes = values.get("notes", "").strip()
    return AdverseEventCorrection(
        event=event if event != stored.event else None,
        onset=onset if onset is not None and onset != stored.onset else None,
        severity=severity if severity != stored.severity else None,
        serious=serious if serious is not None and serious != stored.serious else None,
        outcome=outcome if outcome != stored.outcome else None,
        notes=notes if notes != stored.notes else None,
    )


@require_role(*CORRECTING)
def event_edit(request: HttpRequest, event_id: int) -> HttpResponse:
    """Correct a recorded adverse event (each correction is a new version in the audit trail, with who made it),
    or withdraw it when it was entered in error."""
    port = adverse_events()
    stored = _stored_event(event_id)
    log_read(request, "adverse-event", stored.mrn, event_id)
    errors: dict[str, str] = {}
    values: QueryDict | dict[str, str] = {
        "event": stored.event,
        "onset": stored.onset.isoformat(),
        "severity": stored.severity,
        "serious": "yes" if stored.serious else "no",
        "outcome": stored.outcome,
        "notes": stored.notes,
    }
    if request.method == "POST" and not stored.withdrawn:
        values = request.POST
        correction = _correction(stored, request.POST, errors)
        errors.update(_text_problems(request.POST, stored.outcome))
        errors.update(correction_problems(port, stored, correction, clock().today()))
        if not errors and not correction.changes():
            errors["event"] = "nothing was changed"
        if not errors:
            try:
                correct_adverse_event(port, clock(), event_id, correction, request.user.get_username())
            except FieldError as error:
                errors[error.field] = error.problem
            else:
                messages.success(request, "Adverse event corrected; the version before is kept in the audit history.")
                return redirect("chart", mrn=stored.mrn)
    return _edit_page(request, stored, values, errors, {}, "", status=400 if errors else 200)


@require_POST
@require_role(*CORRECTING)
def event_withdraw(request: HttpRequest, event_id: int) -> HttpResponse:
    """Withdraw an adverse event entered in error, with a reason and a confirmation."""
    stored = _stored_event(event_id)
    reason = request.POST.get("reason", "")
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["reason"] = "give the reason the adverse event is withdrawn"
    elif len(reason) > REASON_LENGTH:
        errors["reason"] = f"at most {REASON_LENGTH} characters"
    if request.POST.get("confirm") != "yes":
        errors["confirm"] = "tick to confirm that this event was entered in error"
    if not errors:
        try:
            withdraw_adverse_event(adverse_events(), event_id, reason, request.user.get_username())
        except FieldError as error:
            errors["reason" if error.field == "reason" else "withdraw"] = error.problem
        else:
            messages.success(request, "Adverse event withdrawn; it is kept, struck through, and no longer checked.")
            return redirect("chart", mrn=stored.mrn)
    values = {
        "event": stored.event,
        "onset": stored.onset.isoformat(),
        "severity": stored.severity,
        "serious": "yes" if stored.serious else "no",
        "outcome": stored.outcome,
        "notes": stored.notes,
    }
    return _edit_page(request, stored, values, {}, errors, reason, status=400)


def _edit_page(
    request: HttpRequest,
    stored: StoredAdverseEventDetail,
    values: QueryDict | dict[str, str],
    errors: dict[str, str],
    withdraw_errors: dict[str, str],
    reason: str,
    status: int,
) -> HttpResponse:
    knowledge = build_knowledge()
    return render(
        request,
        "web/event_edit.html",
        {
            "stored": stored,
            "values": values,
            "errors": errors,
            "withdraw_errors": withdraw_errors,
            "reason": reason,
            "reason_length": REASON_LENGTH,
            "severities": SEVERITIES,
            "seriousness": knowledge.seriousness,
            "common_events": [term.name.lower() for term in knowledge.adverse_event_terms.values()]
            + list(OTHER_EVENTS),
            **_form_limits(),
        },
        status=status,
    )
