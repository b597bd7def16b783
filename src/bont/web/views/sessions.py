"""Recording a session from a plan, and a recorded session's page."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bont.bootstrap import (
    billing_records,
    build_knowledge,
    clinical_records,
    clock,
    inventory,
    place_of_service,
    session_records,
)
from bont.domain.errors import FieldError
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import Plan
from bont.domain.safety import SafetyReport, Verdict
from bont.services.billing import session_billing
from bont.services.inventory import VialOption, vial_options
from bont.services.records import RecordSession, preview_session, record_session
from bont.services.sessions import SessionDetail, SessionError, session_detail, withdraw_session
from bont.web.access import PATIENT_LIST, RECORDING, SESSION_WITHDRAWAL, require_role, roles_of
from bont.web.plan_form import PlanForm, read_plan_form
from bont.web.session_form import DRAW_ROWS, read_session_form


def _default_draws(options: Sequence[VialOption], plan: Plan) -> list[tuple[VialOption, Decimal, Decimal | None]]:
    """Prefill the vial rows: an open vial of the plan's dilution holding the whole dose if there is one, else
    one new vial per vial of the plan, of its size where the shelf has it, from the lots that expire first."""
    total = plan.units_drawn.amount
    first = plan.vials[0] if plan.vials else None
    for option in options:
        if (
            option.vial_id is not None
            and first is not None
            and option.units_left >= total
            and option.diluent_ml == first.diluent_ml
        ):
            return [(option, total, None)]
    rows = []
    lots = [o for o in options if o.vial_id is None]
    available = {o.value: o.sealed_count for o in lots}
    for planned in plan.vials:
        fitting = [o for o in lots if available[o.value] > 0]
        lot = next((o for o in fitting if o.units_left == planned.vial_units), fitting[0] if fitting else None)
        if lot is None:
            break
        available[lot.value] -= 1
        rows.append((lot, planned.drawn.amount, planned.diluent_ml))
    return rows


def _preview(knowledge: KnowledgeBase, command: RecordSession | None) -> tuple[SafetyReport | None, str]:
    """The findings recording would meet now, or why the check cannot run yet."""
    if command is None:
        return None, "correct the fields marked below"
    try:
        return preview_session(clinical_records(), knowledge, command), ""
    except FieldError as error:
        return None, f"{error.field}: {error.problem}"


def _plan_or_redirect(request: HttpRequest, mrn: str) -> tuple[PlanForm, HttpResponse | None]:
    params = request.GET.copy()
    params["mrn"] = mrn
    form = read_plan_form(build_knowledge(), params, clock().today())
    if form.plan is None or form.patient_row is None:
        return form, redirect(f"{reverse('plan')}?{params.urlencode()}")
    return form, None


def _planned_values(plan: Plan, options: Sequence[VialOption], today: date, now: datetime) -> QueryDict:
    """The form as first shown: the plan's sites and doses, and vials prefilled from the stock."""
    values = QueryDict(mutable=True)
    values["date"] = today.isoformat()
    for index, site in enumerate(plan.sites):
        values[f"site_muscle:{index}"] = site.muscle
        values[f"site_side:{index}"] = str(site.side)
        values[f"site_units:{index}"] = f"{site.units.amount.normalize():f}"
    opened_at = clock().local(now).strftime("%Y-%m-%dT%H:%M")  # the clinic's wall-clock time
    for row in range(1, DRAW_ROWS + 1):
        values[f"opened_at:{row}"] = opened_at
    for row, (option, drawn, diluent_ml) in enumerate(_default_draws(options, plan), start=1):
        values[f"vial:{row}"] = option.value
        values[f"lot:{row}"] = option.lot_number
        values[f"drawn:{row}"] = f"{drawn.normalize():f}"
        values[f"diluent:{row}"] = "" if diluent_ml is None else f"{diluent_ml.normalize():f}"
    return values


@require_role(*RECORDING)
def record(request: HttpRequest, mrn: str) -> HttpResponse:
    """Record the plan of the plan builder (its choices arrive in the query string) as given: the sites and
    units actually injected, the vials drawn from, acknowledgements and any override. The safety check runs
    again when the session is written; a refused session writes nothing."""
    knowledge = build_knowledge()
    form, elsewhere = _plan_or_redirect(request, mrn)
    if elsewhere is not None or form.plan is None or form.patient_row is None:
        return elsewhere or redirect("plan")
    plan, patient = form.plan.plan, form.patient_row
    now = clock().now()
    today = now.date()
    stock = inventory()
    options = vial_options(stock, knowledge, plan.product, now)
    values = request.POST if request.method == "POST" else _planned_values(plan, options, today, now)
    read = read_session_form(
        values,
        patient_id=patient.id,
        clinician=request.user.get_username(),
        indication=plan.indication,
        product=plan.product,
        units_per_ml=plan.concentration.units_per_ml,
        deviation_reason=plan.deviation_reason or "",
        variant=plan.protocol.variant,
        guidance=",".join(str(g) for g in plan.protocol.guidance),
        clock=clock(),
        stock=stock,
    )
    # Only the "Record the session" button records. Enter in a text field (a barcode scanner ends every scan
    # with it) submits with the form's first button, "Look up the lots": the form comes back for review.
    recording = request.method == "POST" and request.POST.get("action") == "record"
    reviewing = request.method == "POST" and not recording
    errors = dict(read.errors) if recording else {}
    if reviewing:
        errors = {key: problem for key, problem in read.errors.items() if key.partition(":")[0] in ("lot", "vial")}
    if recording and read.command is not None:
        try:
            session_id = record_session(clinical_records(), knowledge, read.command)
        except FieldError as error:
            errors[error.field] = error.problem
        else:
            messages.success(request, f"Session {session_id} recorded.")
            return redirect("session", session_id=session_id)
    report, check_problem = _preview(knowledge, read.command)
    sites = sorted(
        (
            {
                "index": int(key.partition(":")[2]),
                "muscle": values.get(key, ""),
                "name": knowledge.targets[values.get(key, "")].name if values.get(key) in knowledge.targets else "",
                "side": values.get(f"site_side:{key.partition(':')[2]}", ""),
                "units": values.get(f"site_units:{key.partition(':')[2]}", ""),
                "error": errors.get(f"site_units:{key.partition(':')[2]}", ""),
            }
            for key in values
            if key.startswith("site_muscle:") and key.partition(":")[2].isdigit()
        ),
        key=lambda site: int(str(site["index"])),
    )
    draws = [
        {
            "row": row,
            **{key: values.get(f"{key}:{row}", "") for key in ("vial", "lot", "drawn", "opened_at", "diluent")},
            **(
                {"vial": _looked_up(options, values.get(f"lot:{row}", ""), values.get(f"drawn:{row}", ""))}
                if reviewing and not values.get(f"vial:{row}")
                else {}
            ),
            "discard": values.get(f"discard:{row}") == "on",
            "error": errors.get(f"vial:{row}") or errors.get(f"lot:{row}") or "",
            "drawn_error": errors.get(f"drawn:{row}") or errors.get(f"opened_at:{row}") or "",
        }
        for row in range(1, DRAW_ROWS + 1)
    ]
    findings = [
        {"finding": f, "acknowledgement": values.get(f"ack:{f.code}", "")}
        for f in (report.findings if report else ())
        if f.severity is not Severity.INFO
    ]
    context = {
        "patient": patient,
        "plan": plan,
        "brand": knowledge.products[plan.product].brand,
        "indication": knowledge.indications[plan.indication].name,
        "sites": sites,
        "draws": draws,
        "options": options,
        "date": values.get("date", ""),
        "errors": errors,
        "findings": findings,
        "check_problem": check_problem,
        "blocked": report is not None and report.verdict is Verdict.BLOCK,
        "may_override": "clinician" in roles_of(request),
        "override_reason": values.get("override_reason", ""),
        "query": request.GET.urlencode(),
        "units_per_0_1_ml": plan.concentration.units_per_0_1_ml,
        "reviewing": reviewing,
        "total_units": _total_units(site["units"] for site in sites),
    }
    return render(request, "web/record.html", context, status=400 if errors and recording else 200)


def _looked_up(options: Sequence[VialOption], lot_number: str, drawn: str) -> str:
    """The vial-list choice of a scanned lot, as recording reads it: an open vial of the lot holding the units
    drawn, else a new vial of it; none for a lot not listed."""
    lot_number = lot_number.strip()
    try:
        units = Decimal(drawn.strip() or "0")
    except InvalidOperation:
        units = Decimal(0)
    matching = [o for o in options if lot_number and o.lot_number == lot_number]
    return next(
        (o.value for o in matching if o.vial_id is not None and o.units_left >= units),
        next((o.value for o in matching if o.vial_id is None), ""),
    )


def _total_units(typed: Iterable[object]) -> str:
    """The units entered over all sites, as the form shows them beside its button (unreadable doses left out)."""
    total = Decimal(0)
    for text in typed:
        try:
            units = Decimal(str(text).strip() or "0")
        except InvalidOperation:
            continue
        if units.is_finite() and units > 0:
            total += units
    return f"{total.normalize():f}"


REASON_LENGTH = 2000  # a withdrawal's reason, as the form states


@require_role(*PATIENT_LIST)
def session(request: HttpRequest, session_id: int) -> HttpResponse:
    """One recorded session: sites, vials and lots, findings with their acknowledgements, billing, events; for a
    clinician, the form that withdraws it."""
    try:
        detail = session_detail(session_records(), session_id)
    except SessionError:
        raise Http404("no session with this id") from None
    return _session_page(request, detail)


@require_POST
@require_role(*SESSION_WITHDRAWAL)
def session_withdraw(request: HttpRequest, session_id: int) -> HttpResponse:
    """Withdraw a session entered in error (a clinician, with a reason and a confirmation): it stays on the chart,
    struck through with who and why, and no longer counts toward doses, next dates, responders or billing."""
    records = session_records()
    try:
        detail = session_detail(records, session_id)
    except SessionError:
        raise Http404("no session with this id") from None
    reason = request.POST.get("reason", "")
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["reason"] = "give the reason the session is withdrawn"
    elif len(reason) > REASON_LENGTH:
        errors["reason"] = f"at most {REASON_LENGTH} characters"
    if request.POST.get("confirm") != "yes":
        errors["confirm"] = "tick to confirm that this session was entered in error"
    if not errors:
        try:
            withdraw_session(records, session_id, reason, request.user.get_username())
        except SessionError as error:
            if error.field == "by":
                raise PermissionDenied from error
            errors["reason" if error.field == "reason" else "withdraw"] = error.problem
        else:
            messages.success(
                request,
                f"Session {session_id} withdrawn. It stays on the chart, struck through, and no longer counts toward "
                "cumulative doses, next dates, responders or billing.",
            )
            return redirect("session", session_id=session_id)
    return _session_page(request, detail, errors, reason, status=400)


def _session_page(
    request: HttpRequest,
    detail: SessionDetail,
    errors: dict[str, str] | None = None,
    reason: str = "",
    status: int = 200,
) -> HttpResponse:
    knowledge = build_knowledge()
    given = detail.summary
    context = {
        "session": detail,
        "patient": detail.patient,
        "brand": knowledge.products[given.product].brand if given.product in knowledge.products else given.product,
        "indication": knowledge.indications[given.indication].name
        if given.indication in knowledge.indications
        else given.indication,
        "sites": [
            {"site": s, "name": knowledge.targets[s.muscle].name if s.muscle in knowledge.targets else s.muscle}
            for s in detail.sites
        ],
        "draws": detail.draws,
        "findings": detail.findings,
        "billing": ()
        if detail.withdrawn
        else session_billing(billing_records(), knowledge, detail.id, place_of_service()),
        "adverse_events": detail.adverse_events,
        "may_withdraw": not detail.withdrawn and bool(roles_of(request) & set(SESSION_WITHDRAWAL)),
        "errors": errors or {},
        "reason": reason,
        "reason_length": REASON_LENGTH,
    }
    return render(request, "web/session.html", context, status=status)
