"""Outcomes: entering a scale, the continuation report (HTML and PDF), the follow-up list, and the
patient's own diary page reached by a personal link."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bont.bootstrap import build_knowledge, clock, outcome_records, patient_charts
from bont.domain.errors import FieldError, UnknownIdError
from bont.domain.outcomes import GoalRating, Instrument, InstrumentKind
from bont.interop.continuation_pdf import render_continuation_pdf
from bont.services.follow_up import follow_up_list
from bont.services.outcomes import (
    IndicationOutcomes,
    continuation_document,
    continuation_report,
    create_diary_link,
    diary_page,
    outcome_entry,
    outcome_form,
    record_outcome,
    save_diary_entry,
    withdraw_outcome,
)
from bont.services.ports import UnknownPatientError
from bont.web.access import CORRECTING, IDENTIFIED, RECORDING, require_role
from bont.web.plots import outcome_plot

GOAL_ROWS = 5


def outcome_sections(outcomes: IndicationOutcomes) -> list[dict[str, Any]]:
    """Each instrument's series with its plot, verdicts and continuation advice, for a template."""
    return [
        {
            "series": series,
            "plot": outcome_plot(series, outcomes.sessions),
            "verdict": series.latest_verdict,
            "judgements": series.judgements,
        }
        for series in outcomes.series
    ]


def _raw(instrument: Instrument, values: Any) -> object:
    """What the form posted, in the shape ``score`` takes for this kind of instrument."""
    if instrument.kind is InstrumentKind.ITEMS:
        return {item.key: values.get(f"item:{item.key}", "").strip() for item in instrument.items}
    if instrument.kind is InstrumentKind.ANGLES:
        return {"r1": values.get("r1", "").strip(), "r2": values.get("r2", "").strip()}
    if instrument.kind is InstrumentKind.GOALS:
        goals = []
        for row in range(1, GOAL_ROWS + 1):
            attainment = values.get(f"goal:{row}", "").strip()
            if not attainment:
                continue
            try:
                weight = Decimal(values.get(f"weight:{row}", "").strip() or "1")
                goals.append(GoalRating(int(attainment), weight))
            except (ValueError, ArithmeticError):
                raise FieldError(f"goal:{row}", "rate the goal from −2 to +2, with a weight of 1 or more") from None
        return goals
    if instrument.kind is InstrumentKind.BINARY:
        return values.get("value", "")
    return values.get("value", "").strip()


@require_role(*RECORDING)
def outcome_new(request: HttpRequest, mrn: str) -> HttpResponse:
    """Enter one outcome measurement for an indication the patient is treated for; validated by its scale."""
    knowledge = build_knowledge()
    records = outcome_records()
    values = request.POST if request.method == "POST" else request.GET
    indication_id = values.get("indication", "")
    try:
        form = outcome_form(records, knowledge, mrn, indication_id, values.get("instrument"))
    except UnknownPatientError:
        raise Http404("no patient has this MRN") from None
    except UnknownIdError:
        raise Http404("unknown indication") from None
    instrument = form.instrument
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            on = date.fromisoformat(values.get("measured_on", ""))
        except ValueError:
            errors["measured_on"] = "is not a date (YYYY-MM-DD)"
        else:
            try:
                record_outcome(
                    records,
                    knowledge,
                    mrn,
                    indication_id,
                    instrument.id,
                    on,
                    _raw(instrument, values),
                    request.user.get_username(),
                    clock().today(),
                )
            except (FieldError, UnknownIdError) as error:
                errors[getattr(error, "field", "instrument")] = getattr(error, "problem", str(error))
            else:
                messages.success(request, f"{instrument.name} recorded.")
                return redirect(f"{reverse('chart', args=[mrn])}#outcomes")
    return render(
        request,
        "web/outcome_new.html",
        {
            "patient": form.patient,
            "indication": form.indication,
            "instruments": form.instruments,
            "instrument": instrument,
            "values": values,
            "errors": errors,
            "goal_rows": range(1, GOAL_ROWS + 1),
            "measured_on": values.get("measured_on") or clock().today().isoformat(),
        },
        status=400 if errors else 200,
    )


REASON_LENGTH = 2000  # a withdrawal's reason, as the form states


@require_role(*CORRECTING)
def outcome_withdraw(request: HttpRequest, outcome_id: int) -> HttpResponse:
    """Withdraw a measurement entered in error (with a reason and a confirmation): it stays on the chart, struck
    through with who and why, and no longer counts toward responders, continuation, follow-up or research."""
    records = outcome_records()
    try:
        patient, entry = outcome_entry(records, build_knowledge(), outcome_id)
    except FieldError:
        raise Http404("no outcome measurement with this id") from None
    errors: dict[str, str] = {}
    reason = request.POST.get("reason", "") if request.method == "POST" else ""
    if request.method == "POST" and not entry.withdrawn:
        if not reason.strip():
            errors["reason"] = "give the reason the measurement is withdrawn"
        elif len(reason) > REASON_LENGTH:
            errors["reason"] = f"at most {REASON_LENGTH} characters"
        if request.POST.get("confirm") != "yes":
            errors["confirm"] = "tick to confirm that this measurement was entered in error"
        if not errors:
            try:
                withdraw_outcome(records, outcome_id, reason, request.user.get_username())
            except FieldError as error:
                errors["reason" if error.field == "reason" else "withdraw"] = error.problem
            else:
                messages.success(request, f"{entry.instrument} of {entry.measured_on:%Y-%m-%d} withdrawn.")
                return redirect(f"{reverse('chart', args=[patient.mrn])}#outcomes")
    return render(
        request,
        "web/outcome_withdraw.html",
        {"patient": patient, "entry": entry, "errors": errors, "reason": reason, "reason_length": REASON_LENGTH},
        status=400 if errors else 200,
    )


@require_role(*IDENTIFIED)
def report(request: HttpRequest, mrn: str, indication: str) -> HttpResponse:
    knowledge, records, today = build_knowledge(), outcome_records(), clock().today()
    try:
        if request.GET.get("format") == "pdf":
            document = continuation_document(records, knowledge, mrn, indication, today)
            response = HttpResponse(render_continuation_pdf(document), content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="continuation-{indication}.pdf"'
            return response
        data = continuation_report(records, knowledge, mrn, indication, today)
    except UnknownPatientError:
        raise Http404("no patient has this MRN") from None
    except UnknownIdError:
        raise Http404("unknown indication") from None
    context: dict[str, Any] = {f.name: getattr(data, f.name) for f in fields(data)}
    context["measures"] = [
        {f.name: getattr(measure, f.name) for f in fields(measure)}
        | {"plot": outcome_plot(measure.series, data.sessions)}
        for measure in data.measures
    ]
    return render(request, "web/continuation_report.html", context)


@require_role(*IDENTIFIED)
def follow_up(request: HttpRequest) -> HttpResponse:
    """Patients due or overdue for a follow-up assessment, and patients whose next session is allowed."""
    rows = follow_up_list(outcome_records(), patient_charts(), build_knowledge(), clock().today())
    return render(request, "web/follow_up.html", {"assessments": rows.assessments, "sessions": rows.sessions})


@require_POST
@require_role(*RECORDING)
def diary_link_new(request: HttpRequest, mrn: str) -> HttpResponse:
    """A personal diary link for the patient, shown once (only its hash is kept)."""
    try:
        token = create_diary_link(outcome_records(), mrn, request.POST.get("kind", ""), clock().today())
    except FieldError as error:
        messages.error(request, f"{error.field}: {error.problem}")
    else:
        url = request.build_absolute_uri(reverse("diary", args=[token]))
        messages.success(request, f"Give the patient this diary link (shown once): {url}")
    return redirect("chart", mrn=mrn)


def diary(request: HttpRequest, token: str) -> HttpResponse:
    """The patient's diary page: no sign-in, the link is the key, so the page shows no identifier at all."""
    records, today = outcome_records(), clock().today()
    page = diary_page(records, token, today)
    if page is None:
        return render(request, "web/diary_closed.html", status=404)
    errors: dict[str, str] = {}
    values = request.POST if request.method == "POST" else request.GET
    if request.method == "POST":
        try:
            day = date.fromisoformat(values.get("day", ""))
        except ValueError:
            errors["day"] = "is not a date"
        else:
            entry: dict[str, Any] = {
                key: values.get(key) for key in values if key not in ("csrfmiddlewaretoken", "day", "features")
            }
            entry["features"] = values.getlist("features")
            if "headache_hours" in values:
                try:
                    entry["headache_minutes"] = str(round(Decimal(values.get("headache_hours") or "0") * 60))
                except ArithmeticError:
                    errors["headache_minutes"] = "is not a number of hours"
            if not errors:
                try:
                    saved = save_diary_entry(records, token, day, entry, today)
                except FieldError as error:
                    errors[error.field] = error.problem
                else:
                    if not saved:
                        return render(request, "web/diary_closed.html", status=404)
                    messages.success(request, f"Saved {day:%A %d %B}. Thank you.")
                    return redirect("diary", token=token)
    return render(
        request,
        "web/diary.html",
        {
            "link": page,
            "errors": errors,
            "values": values,
            "recent": page.recent,
            "today": today,
            "day": values.get("day") or today.isoformat(),
        },
        status=400 if errors else 200,
    )
