"""Recording a session from a plan, correcting a recorded session, and a recorded session's page."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

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
from bont.domain.canvas import SitePosition
from bont.domain.errors import FieldError
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import Plan
from bont.domain.safety import SafetyReport, Verdict
from bont.services.billing import session_billing
from bont.services.inventory import VialOption, vial_options
from bont.services.records import (
    RecordingError,
    RecordSession,
    correct_session,
    preview_correction,
    preview_session,
    record_session,
)
from bont.services.sessions import (
    GivenSite,
    PatientRef,
    SessionDetail,
    SessionError,
    injecting_staff,
    session_detail,
    withdraw_session,
)
from bont.web.access import IDENTIFIED, RECORDING, SESSION_WITHDRAWAL, require_role, roles_of
from bont.web.audit_reads import log_read
from bont.web.canvas import canvas, plan_positions, session_sites
from bont.web.patient_banner import patient_banner
from bont.web.plan_form import SEVERITY_RANK, read_plan_form
from bont.web.session_form import MAXIMUM_VIAL_ROWS, numbered, read_session_form, vial_rows

REASON_LENGTH = 2000  # a withdrawal's or a correction's reason, as the form states
WALL_CLOCK = "%Y-%m-%dT%H:%M"  # what a datetime-local field shows and sends


@dataclass(frozen=True)
class _Recording:
    """What a record form records: for whom, which product for which indication at which concentration, with
    the plan's choices; for a correction, the session it corrects."""

    patient: PatientRef
    indication: str
    product: str
    units_per_ml: Decimal | None
    deviation_reason: str
    variant: str | None
    guidance: str
    title: str  # the protocol's title, or what is corrected
    back_url: str
    back_label: str
    corrects: SessionDetail | None = None


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


def _preview(
    knowledge: KnowledgeBase, recording: _Recording, command: RecordSession | None
) -> tuple[SafetyReport | None, str]:
    """The findings recording (or the correction) would meet now, or why the check cannot run yet."""
    if command is None:
        return None, "correct the fields marked below"
    try:
        if recording.corrects is not None:
            return preview_correction(clinical_records(), knowledge, recording.corrects.id, command), ""
        return preview_session(clinical_records(), knowledge, command), ""
    except FieldError as error:
        return None, f"{error.field}: {error.problem}"


# The plan's choices ride along the record form's posts as hidden fields of this prefix: a plan, like the
# patient, never travels in an address.
PLAN_FIELD = "plan:"
FROM_THE_BUILDER = "to_record"  # the name of the plan builder's "Record this session…" button
OVERRIDE = "override_reason"  # the record form's field; a blocked plan's override typed on the builder fills it


def _plan_choices(request: HttpRequest) -> QueryDict | None:
    """The plan builder's choices: posted by its "Record this session…" button, then carried by the record
    form's hidden fields; None for a GET."""
    if request.method != "POST":
        return None
    if request.POST.get(FROM_THE_BUILDER):
        choices = request.POST.copy()
        for private in ("csrfmiddlewaretoken", FROM_THE_BUILDER, "mrn", OVERRIDE):
            choices.pop(private, None)
        return choices
    choices = QueryDict(mutable=True)
    for key, values in request.POST.lists():
        if key.startswith(PLAN_FIELD):
            choices.setlist(key.removeprefix(PLAN_FIELD), values)
    return choices


def _planned_values(
    plan: Plan,
    positions: Sequence[SitePosition | None],
    options: Sequence[VialOption],
    now: datetime,
    user: str,
) -> QueryDict:
    """The form as first shown: given now by the signed-in user, the plan's sites and doses and where the
    canvas drew them, and one row per vial the plan draws from, prefilled from the stock (one empty row when the
    stock has none to offer)."""
    values = QueryDict(mutable=True)
    values["date"] = now.date().isoformat()
    given_at = clock().local(now).strftime(WALL_CLOCK)  # the clinic's wall-clock time
    values["given_at"] = given_at
    values["given_by"] = user
    for index, (site, position) in enumerate(zip(plan.sites, positions, strict=True)):
        values[f"site_muscle:{index}"] = site.muscle
        values[f"site_side:{index}"] = str(site.side)
        values[f"site_units:{index}"] = f"{site.units.amount.normalize():f}"
        values[f"site_position:{index}"] = position.text if position else ""
    draws = _default_draws(options, plan)
    for row in range(1, max(len(draws), 1) + 1):
        values[f"opened_at:{row}"] = given_at
    for row, (option, drawn, diluent_ml) in enumerate(draws, start=1):
        values[f"vial:{row}"] = option.value
        values[f"lot:{row}"] = option.lot_number
        values[f"drawn:{row}"] = f"{drawn.normalize():f}"
        values[f"diluent:{row}"] = "" if diluent_ml is None else f"{diluent_ml.normalize():f}"
    return values


def _recorded_values(detail: SessionDetail) -> QueryDict:
    """The correction form as first shown: the session as it was recorded, with no further vial drawn."""
    values = QueryDict(mutable=True)
    summary = detail.summary
    values["date"] = summary.on.isoformat()
    values["given_at"] = clock().local(summary.given_at).strftime(WALL_CLOCK) if summary.given_at else ""
    values["given_by"] = summary.injector
    for index, site in enumerate(detail.sites):
        values[f"site_muscle:{index}"] = site.muscle
        values[f"site_side:{index}"] = site.side
        values[f"site_units:{index}"] = f"{site.units.normalize():f}"
        values[f"site_position:{index}"] = site.position.text if site.position else ""
    return values


def _recorded_concentration(sites: Sequence[GivenSite]) -> Decimal | None:
    """The concentration a session was recorded at, read back from its largest injection (volumes are kept to
    0.01 mL, so the largest reads back the closest); None when no volume was recorded."""
    measured = [site for site in sites if site.volume_ml]
    if not measured:
        return None
    largest = max(measured, key=lambda site: site.volume_ml or Decimal(0))
    return largest.units / (largest.volume_ml or Decimal(1))


@require_role(*RECORDING)
def record(request: HttpRequest, mrn: str) -> HttpResponse:
    """Record the plan of the plan builder (its choices arrive in the query string) as given: when and by whom,
    the sites and units actually injected, the vials drawn from, acknowledgements and any override. The safety
    check runs again when the session is written; a refused session writes nothing."""
    knowledge = build_knowledge()
    choices = _plan_choices(request)
    if choices is None:
        return redirect("patient_plan", mrn=mrn)  # the builder's button posts the plan here
    params = choices.copy()
    params["mrn"] = mrn
    form = read_plan_form(knowledge, params, clock().today())
    if form.plan is None or form.patient_row is None:
        return redirect("patient_plan", mrn=mrn)
    plan = form.plan.plan
    recording = _Recording(
        patient=form.patient_row,
        indication=plan.indication,
        product=plan.product,
        units_per_ml=plan.concentration.units_per_ml,
        deviation_reason=plan.deviation_reason or "",
        variant=plan.protocol.variant,
        guidance=",".join(str(g) for g in plan.protocol.guidance),
        title=plan.protocol.title,
        back_url=reverse("patient_plan", args=[mrn]),
        back_label="back to the plan",
    )
    now = clock().now()
    options = vial_options(inventory(), knowledge, plan.product, now)
    positions = plan_positions(knowledge, plan, form.placed)
    planned = _planned_values(plan, positions, options, now, request.user.get_username())
    planned[OVERRIDE] = request.POST.get(OVERRIDE, "").strip()
    submitted = None if request.POST.get(FROM_THE_BUILDER) else request.POST
    carried = [(PLAN_FIELD + key, value) for key, values in choices.lists() for value in values]
    return _record_form(request, knowledge, recording, planned, options, now, submitted, carried)


@require_role(*SESSION_WITHDRAWAL)
def session_correct(request: HttpRequest, session_id: int) -> HttpResponse:
    """Correct a recorded session (a clinician): the record form, filled in from the session, and the reason for
    the correction. Recording it withdraws the session and records the corrected one in its place, linked to it,
    in one transaction; the corrected session keeps the vials the session drew from."""
    knowledge = build_knowledge()
    try:
        detail = session_detail(session_records(), session_id)
    except SessionError:
        raise Http404("no session with this id") from None
    given = detail.summary
    if given.product not in knowledge.products or given.indication not in knowledge.indications:
        raise Http404("the session's product or indication is no longer in the knowledge base")
    recording = _Recording(
        patient=detail.patient,
        indication=given.indication,
        product=given.product,
        units_per_ml=_recorded_concentration(detail.sites),
        deviation_reason=detail.deviation_reason,
        variant=None,  # the check infers it from the sites, as it did for the session
        guidance=detail.guidance,
        title=f"correcting session {detail.id} of {given.on:%Y-%m-%d}",
        back_url=reverse("session", args=[detail.id]),
        back_label=f"back to session {detail.id}",
        corrects=detail,
    )
    now = clock().now()
    options = vial_options(inventory(), knowledge, given.product, now)
    submitted = request.POST if request.method == "POST" else None
    return _record_form(request, knowledge, recording, _recorded_values(detail), options, now, submitted)


# A refused correction names these fields; the form shows their messages beside the reason.
_CORRECTION_REFUSALS = dict.fromkeys(("reason", "session", "patient_mrn"), "correction_reason")


def _record_form(
    request: HttpRequest,
    knowledge: KnowledgeBase,
    recording: _Recording,
    first_shown: QueryDict,
    options: Sequence[VialOption],
    now: datetime,
    submitted: QueryDict | None,
    carried: Sequence[tuple[str, str]] = (),
) -> HttpResponse:
    """The record form: as first shown, or as ``submitted`` (a lookup, a vial added, or the record button);
    ``carried`` are hidden fields every post brings back (the plan's choices)."""
    values = submitted if submitted is not None else first_shown
    injectors = injecting_staff(session_records())
    corrects = recording.corrects
    read = read_session_form(
        values,
        patient_id=recording.patient.id,
        clinician=request.user.get_username(),
        indication=recording.indication,
        product=recording.product,
        units_per_ml=recording.units_per_ml,
        deviation_reason=recording.deviation_reason,
        variant=recording.variant,
        guidance=recording.guidance,
        clock=clock(),
        stock=inventory(),
        injectors={i.username for i in injectors},
        draws_carried=bool(corrects and corrects.draws),
    )
    action = submitted.get("action") if submitted is not None else None
    # Only the "Record" button records. Enter in a text field (a barcode scanner ends every scan with it)
    # submits with the form's first button, "Look up the lots": the form comes back for review; "Add a vial"
    # comes back with one more vial row.
    recording_now = action == "record"
    reviewing = submitted is not None and not recording_now
    errors = dict(read.errors) if recording_now else {}
    if reviewing:
        errors = {key: problem for key, problem in read.errors.items() if key.partition(":")[0] in ("lot", "vial")}
    reason = values.get("correction_reason", "")
    if corrects is not None and corrects.withdrawn:
        errors["correction_reason"] = "this session is withdrawn already; record the session again instead"
    if recording_now and corrects is not None:
        if not reason.strip():
            errors["correction_reason"] = "give the reason the session is corrected"
        elif len(reason) > REASON_LENGTH:
            errors["correction_reason"] = f"at most {REASON_LENGTH} characters"
    if recording_now and read.command is not None and not errors:
        written = _write(request, knowledge, recording, read.command, reason, errors)
        if written is not None:
            return written
    report, check_problem = _preview(knowledge, recording, read.command)
    rows = vial_rows(values) or ([] if corrects is not None else [1])
    if action == "add_vial" and len(rows) < MAXIMUM_VIAL_ROWS:
        rows.append(max(rows, default=0) + 1)
    opened_at = clock().local(now).strftime(WALL_CLOCK)
    sites = _sites(knowledge, values, errors)
    context = {
        "patient": recording.patient,
        "banner": patient_banner(knowledge, recording.patient.mrn, clock().today()),
        "recording": recording,
        "corrects": corrects,
        "brand": knowledge.products[recording.product].brand,
        "indication": knowledge.indications[recording.indication].name,
        "sites": sites,
        "total_units": _total_units(site["units"] for site in sites),
        "draws": [_draw(values, row, options, errors, reviewing, opened_at) for row in rows],
        "new_draw": {"row": "__row__", "opened_at": opened_at},
        "next_row": max(rows, default=0) + 1,
        "maximum_rows": MAXIMUM_VIAL_ROWS,
        "options": options,
        "injectors": injectors,
        "date": values.get("date", ""),
        "given_at": values.get("given_at", ""),
        "given_by": values.get("given_by", ""),
        "correction_reason": reason,
        "reason_length": REASON_LENGTH,
        "errors": errors,
        "findings": [
            {"finding": f, "acknowledgement": values.get(f"ack:{f.code}", "")}
            for f in sorted(report.findings if report else (), key=lambda f: SEVERITY_RANK[str(f.severity)])
            if f.severity is not Severity.INFO
        ],
        "blocking": [f for f in (report.findings if report else ()) if f.severity is Severity.BLOCK],
        "check_problem": check_problem,
        "blocked": report is not None and report.verdict is Verdict.BLOCK,
        "may_override": "clinician" in roles_of(request),
        "override_reason": values.get(OVERRIDE, ""),
        "units_per_0_1_ml": None
        if recording.units_per_ml is None
        else f"{(recording.units_per_ml / 10).quantize(Decimal('0.01')).normalize():f}",
        "reviewing": reviewing,
        "carried": carried,
    }
    return render(request, "web/record.html", context, status=400 if errors and recording_now else 200)


def _write(
    request: HttpRequest,
    knowledge: KnowledgeBase,
    recording: _Recording,
    command: RecordSession,
    reason: str,
    errors: dict[str, str],
) -> HttpResponse | None:
    """Record the session (or the correction) and go to its page; None, with the refusal in ``errors``, when
    the service refuses it (nothing is written then)."""
    corrects = recording.corrects
    try:
        if corrects is None:
            session_id = record_session(clinical_records(), knowledge, command)
        else:
            session_id = correct_session(
                clinical_records(), knowledge, corrects.id, command, reason, request.user.get_username()
            )
    except RecordingError as error:
        if error.field == "by":
            raise PermissionDenied from error
        errors[_CORRECTION_REFUSALS.get(error.field, error.field) if corrects else error.field] = error.problem
        return None
    except FieldError as error:
        errors[error.field] = error.problem
        return None
    if corrects is None:
        messages.success(request, f"Session {session_id} recorded.")
    else:
        messages.success(request, f"Session {corrects.id} withdrawn and corrected by session {session_id}.")
    return redirect("session", session_id=session_id)


def _sites(knowledge: KnowledgeBase, values: QueryDict, errors: dict[str, str]) -> list[dict[str, Any]]:
    """The injection sites as the form shows them: muscle, side, the units typed and any refusal."""
    sites = []
    for index in numbered(values, "site_muscle"):
        muscle = values.get(f"site_muscle:{index}", "")
        sites.append(
            {
                "index": index,
                "muscle": muscle,
                "name": knowledge.targets[muscle].name if muscle in knowledge.targets else muscle,
                "side": values.get(f"site_side:{index}", ""),
                "units": values.get(f"site_units:{index}", ""),
                "position": values.get(f"site_position:{index}", ""),
                "error": errors.get(f"site_units:{index}", ""),
            }
        )
    return sites


def _draw(
    values: QueryDict,
    row: int,
    options: Sequence[VialOption],
    errors: dict[str, str],
    reviewing: bool,
    opened_at: str,
) -> dict[str, Any]:
    """One vial row as the form shows it: what was typed (a scanned lot looked up on review) and any refusal."""
    typed = {key: values.get(f"{key}:{row}", "") for key in ("vial", "lot", "drawn", "opened_at", "diluent")}
    if f"opened_at:{row}" not in values:  # a row just added: reconstituted now, unless changed
        typed["opened_at"] = opened_at
    if reviewing and not typed["vial"]:
        typed["vial"] = _looked_up(options, typed["lot"], typed["drawn"])
    return {
        "row": row,
        **typed,
        "discard": values.get(f"discard:{row}") == "on",
        "error": errors.get(f"vial:{row}") or errors.get(f"lot:{row}") or "",
        "drawn_error": errors.get(f"drawn:{row}") or errors.get(f"opened_at:{row}") or "",
    }


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


@require_role(*IDENTIFIED)  # billing reads claim lines, never the clinical page
def session(request: HttpRequest, session_id: int) -> HttpResponse:
    """One recorded session: sites, vials and lots, findings with their acknowledgements, billing, events; for a
    clinician, the form that withdraws it."""
    try:
        detail = session_detail(session_records(), session_id)
    except SessionError:
        raise Http404("no session with this id") from None
    log_read(request, "session", detail.patient.mrn, session_id)
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


def _protocol_title(knowledge: KnowledgeBase, indication: str, protocol: str) -> str:
    """The protocol a session followed, by its title (with its population); its id when the knowledge base no
    longer has it, "—" when none was recorded."""
    known = knowledge.indications.get(indication)
    for candidate in known.protocols if known is not None else ():
        if candidate.id == protocol:
            return f"{candidate.title} ({candidate.population})"
    return protocol or "—"


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
        "views": canvas(knowledge, session_sites(knowledge, given.indication, detail.sites)),
        "protocol": _protocol_title(knowledge, given.indication, given.protocol),
        "draws": detail.draws,
        "findings": sorted(detail.findings, key=lambda f: SEVERITY_RANK.get(f.severity, len(SEVERITY_RANK))),
        "overridden": [f for f in detail.findings if f.severity == Severity.BLOCK] if detail.override_reason else [],
        "billing": ()
        if detail.withdrawn
        else session_billing(billing_records(), knowledge, detail.id, place_of_service()),
        "adverse_events": detail.adverse_events,
        # Only a clinician withdraws or corrects a session that was given.
        "may_withdraw": not detail.withdrawn and bool(roles_of(request) & set(SESSION_WITHDRAWAL)),
        "errors": errors or {},
        "reason": reason,
        "reason_length": REASON_LENGTH,
    }
    return render(request, "web/session.html", context, status=status)
