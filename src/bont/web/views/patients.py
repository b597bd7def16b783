"""Thin views: read the request, call a service, render a template."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse

from bont.bootstrap import access_log, build_knowledge, clock, outcome_records, patient_charts, patient_registry
from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.services.access_log import NO_OPERATOR
from bont.services.outcomes import chart_outcomes
from bont.services.patients import (
    SEXES,
    audit_trail,
    condition_options,
    count_patients,
    find_patients,
    patient_chart,
    register_patient,
    search_conditions,
    update_patient,
)
from bont.services.ports import UnknownPatientError
from bont.web.access import (
    CORRECTING,
    IDENTIFIED,
    PATIENT_EDITING,
    PATIENT_LIST,
    RESEARCH,
    require_role,
    roles_of,
)
from bont.web.audit_reads import log_read
from bont.web.pages import Pages
from bont.web.patient_banner import patient_banner
from bont.web.patient_form import (
    CONDITION_ROWS,
    LIST_LINES,
    MAXIMUM_WEIGHT_KG,
    MRN_LENGTH,
    NAME_LENGTH,
    TERM_LENGTH,
    read_new_patient,
    read_patient_update,
)
from bont.web.views.outcomes import outcome_sections

PATIENTS_PER_PAGE = 200


@login_required
def home(request: HttpRequest) -> HttpResponse:
    roles = roles_of(request)
    if roles & set(IDENTIFIED):
        return redirect("patients")
    if "billing" in roles:  # claims, not charts
        return redirect("billing")
    if roles & set(RESEARCH):
        return redirect("research")
    return render(request, "web/no_role.html", status=403)


@require_role(*PATIENT_LIST)
def patients(request: HttpRequest) -> HttpResponse:
    # The search is posted, its pages too: a name or MRN typed here stays out of the address and its logs.
    query = request.POST.get("q", "").strip() if request.method == "POST" else ""
    registry = patient_registry()
    pages = Pages.of(request, count_patients(registry, query), PATIENTS_PER_PAGE, form="patient-search")
    rows = find_patients(registry, query, limit=PATIENTS_PER_PAGE, offset=pages.offset)
    log_read(request, "patient-list", object_id=f"{len(rows)} shown")
    return render(
        request,
        "web/patients.html",
        {
            "patients": rows,
            "query": query,
            "pages": pages,
            "may_edit": bool(roles_of(request) & set(PATIENT_EDITING)),
            "may_open_charts": bool(roles_of(request) & set(IDENTIFIED)),  # billing finds a patient, no chart
            # A chart's address is this one and its key (the "chart" route): written as such, not reversed per
            # row, where 200 reverses through the chart-key converter were most of the page's time.
            "charts": reverse("patients"),
        },
    )


@require_role(*IDENTIFIED)
def chart(request: HttpRequest, mrn: str) -> HttpResponse:
    knowledge = build_knowledge()
    today = clock().today()
    try:
        read = patient_chart(patient_registry(), patient_charts(), knowledge, mrn, today)
        entries, outcomes = chart_outcomes(outcome_records(), knowledge, mrn, today)
    except UnknownPatientError:
        raise Http404("no patient has this MRN") from None
    log_read(request, "chart", mrn)
    context = {
        "banner": patient_banner(knowledge, mrn, today, read),
        "patient": read.patient,
        "sessions": read.sessions,
        "given_elsewhere": read.given_elsewhere,
        "gauges": read.gauges,
        "next_sessions": read.next_sessions,
        "conditions": read.conditions,
        "medications": read.medications,
        "allergies": read.allergies,
        "pregnant": read.pregnant,
        "breastfeeding": read.breastfeeding,
        "may_edit": bool(roles_of(request) & set(PATIENT_EDITING)),
        "warnings": read.warnings,
        "adverse_events": read.active_adverse_events,
        "withdrawn_adverse_events": read.withdrawn_adverse_events,
        "may_correct": bool(roles_of(request) & set(CORRECTING)),
        "outcome_entries": entries,
        "outcomes": [{"indication": o.indication, "sections": outcome_sections(o)} for o in outcomes],
    }
    return render(request, "web/chart.html", context)


@require_role(*IDENTIFIED)
def audit(request: HttpRequest, mrn: str) -> HttpResponse:
    """Every version of the patient's records (who changed what, and when) and every read of their data (who
    opened what, when, from where); opening it is a read too."""
    try:
        patient, entries, reads = audit_trail(patient_registry(), access_log(), mrn)
    except UnknownPatientError:
        raise Http404("no patient has this MRN") from None
    log_read(request, "audit", mrn)
    banner = patient_banner(build_knowledge(), mrn, clock().today())
    context = {"banner": banner, "patient": patient, "entries": entries, "reads": reads, "no_operator": NO_OPERATOR}
    return render(request, "web/audit.html", context)


# The fields' names as their labels say them, for the list of refused fields above the form.
FIELD_LABELS = {
    "mrn": "MRN",
    "given_name": "Given name",
    "family_name": "Family name",
    "birth_date": "Birth date",
    "sex": "Sex",
    "weight_kg": "Weight",
    "weighed_on": "Weighed on",
    "on": "Date of these changes",
    "medications": "Medicines",
    "allergies": "Allergies",
    "resolve": "Resolved conditions",
    "stop": "Stopped medicines",
    "remove_allergy": "Removed allergies",
}


def _condition_rows(knowledge: KnowledgeBase, values: QueryDict, errors: dict[str, str]) -> list[dict[str, object]]:
    """The new-condition rows with what was typed, its error and, for a code, its ICD-10-CM title."""
    rows: list[dict[str, object]] = []
    for index in range(CONDITION_ROWS):
        name = f"condition:{index}"
        typed = values.get(name, "")  # shown as typed: a longer term is refused beside the field, never cut
        description = knowledge.describe_code(typed.strip()) if typed.strip() else None
        rows.append(
            {
                "name": name,
                "number": index + 1,
                "value": typed,
                "error": errors.get(name, ""),
                "description": description,
            }
        )
    return rows


def _form_context(knowledge: KnowledgeBase, values: QueryDict, errors: dict[str, str]) -> dict[str, object]:
    summary = [
        (name, FIELD_LABELS.get(name) or f"Condition {int(name.partition(':')[2]) + 1}", problem)
        if name.startswith("condition:") or name in FIELD_LABELS
        else (name, name, problem)
        for name, problem in errors.items()
    ]
    return {
        "values": values,
        "errors": errors,
        "summary": summary,
        "sexes": SEXES,
        "condition_rows": _condition_rows(knowledge, values, errors),
        "condition_options": condition_options(knowledge),
        "limits": {"mrn": MRN_LENGTH, "name": NAME_LENGTH, "term": TERM_LENGTH, "lines": LIST_LINES},
        "maximum_weight": MAXIMUM_WEIGHT_KG,
    }


@require_role(*PATIENT_EDITING)
def patient_new(request: HttpRequest) -> HttpResponse:
    """Register a patient, checked as ``bont patient add`` checks them (the same service)."""
    knowledge = build_knowledge()
    today = clock().today()
    # A post larger than DATA_UPLOAD_MAX_MEMORY_SIZE is refused with 400 before it gets here; the inputs'
    # maxlength keeps a browser's paste within the limits the form states.
    values: QueryDict = request.POST
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = read_new_patient(values, today)
        errors = form.errors
        if form.new is not None:
            try:
                register_patient(patient_registry(), clock(), form.new, knowledge)
            except FieldError as error:
                errors[form.field_of(error.field)] = error.problem
            else:
                messages.success(request, "Patient registered.")
                return redirect("chart", mrn=form.new.mrn)
    if request.method != "POST":
        values = QueryDict(mutable=True)
        values["weighed_on"] = today.isoformat()
    context = _form_context(knowledge, values, errors) | {"editing": False}
    return render(request, "web/patient_form.html", context, status=400 if errors else 200)


@require_role(*PATIENT_EDITING)
def patient_edit(request: HttpRequest, mrn: str) -> HttpResponse:
    """Change a patient's record: demographics corrected in place, the rest added as dated rows (``bont patient
    update``'s service); every change is a new version in the audit trail."""
    knowledge = build_knowledge()
    today = clock().today()
    try:
        read = patient_chart(patient_registry(), patient_charts(), knowledge, mrn, today)
    except UnknownPatientError:
        raise Http404("no patient has this MRN") from None
    current = {"conditions": read.conditions, "medications": read.medications, "allergies": read.allergies}
    values: QueryDict = request.POST
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = read_patient_update(
            values, today, tuple(c.term for c in read.conditions), read.medications, read.allergies
        )
        errors = form.errors
        if form.update is not None:
            try:
                update_patient(patient_registry(), mrn, form.update, knowledge)
            except FieldError as error:
                errors[form.field_of(error.field)] = error.problem
            else:
                messages.success(request, "Patient record updated.")
                return redirect("chart", mrn=mrn)
    if request.method != "POST":
        header = read.patient
        values = QueryDict(mutable=True)
        values.update(
            {
                "given_name": header.given_name,
                "family_name": header.family_name,
                "birth_date": header.birth_date.isoformat(),
                "sex": header.sex,
                "on": today.isoformat(),
            }
        )
        for flag in ("pregnant", "breastfeeding"):
            if getattr(read, flag):
                values[flag] = "on"
        if header.catheterizes:
            values["catheterizes"] = "on"
    context = _form_context(knowledge, values, errors) | {
        "editing": True,
        "banner": patient_banner(knowledge, mrn, today, read),
        "patient": read.patient,
        "current": current,
        "resolving": values.getlist("resolve"),
        "stopping": values.getlist("stop"),
        "removing": values.getlist("remove_allergy"),
    }
    return render(request, "web/patient_form.html", context, status=400 if errors else 200)


@require_role(*PATIENT_EDITING)
def condition_search(request: HttpRequest) -> JsonResponse:
    """The condition picker's look-up: ``?q=`` a code or words; the code's title and the matching codes."""
    query = request.GET.get("q", "")[:TERM_LENGTH]
    knowledge = build_knowledge()
    found = search_conditions(knowledge, query)
    return JsonResponse(
        {
            "description": knowledge.describe_code(query.strip()) or "",
            "unknown_code": knowledge.is_unknown_code(query.strip()),
            "matches": [{"code": o.code, "description": o.description} for o in found],
        }
    )
