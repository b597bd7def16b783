"""The plan builder (its printable procedure sheet is in ``bont.web.views.documents``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from bont.bootstrap import build_knowledge, clock
from bont.domain.canvas import write_placed
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import SideChoice
from bont.interop.procedure_sheet import site_numbers, site_rows
from bont.services.documents import plan_document
from bont.web.access import IDENTIFIED, RECORDING, require_role, roles_of
from bont.web.canvas import canvas, plan_sites, tap_targets
from bont.web.patient_banner import patient_banner
from bont.web.plan_form import (
    DEVIATION_REASON_LENGTH,
    SEVERITY_RANK,
    PlanForm,
    dilution_fields,
    field_name,
    product_choices,
    protocol_rows,
    read_plan_form,
)
from bont.web.views.evidence import link_cited_studies


def _document(knowledge: KnowledgeBase, form: PlanForm) -> dict[str, Any] | None:
    """The plan as a document, with the safety check's verdict and findings (against the stored history when
    a patient is chosen), most serious first."""
    if form.plan is None:
        return None
    document = plan_document(form.plan, knowledge)
    document["findings"].sort(key=lambda finding: SEVERITY_RANK[finding["severity"]])
    return document


def _variants(knowledge: KnowledgeBase, indication: str, product: str) -> list[str]:
    """The protocol variants (e.g. upper or lower limb) the indication has for the product."""
    if indication not in knowledge.indications or product not in knowledge.products:
        return []
    return sorted({p.variant for p in knowledge.indications[indication].protocols_for(product) if p.variant})


def _plain(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount.normalize():f}"


def _chart_note(form: PlanForm, today: date) -> str:
    """When the age or weight typed differs from the chart's: the safety check reads the chart's."""
    if form.patient is None:
        return ""
    differs = []
    chart_age, chart_weight = form.patient.age_on(today), form.patient.weight_kg
    if chart_age is not None and form.age is not None and form.age != chart_age:
        differs.append(f"age {_plain(chart_age)} years")
    if chart_weight is not None and form.weight_kg is not None and form.weight_kg != chart_weight:
        differs.append(f"weight {_plain(chart_weight)} kg")
    if not differs:
        return ""
    return (
        f"The safety check reads the chart ({' and '.join(differs)}); the doses follow the figures typed here. "
        "Record a new weight on the chart for the check to use it."
    )


def _form_values(request: HttpRequest, mrn: str | None) -> QueryDict:
    """What the builder plans from: the posted form; opened (GET) from a chart, only that patient. A query
    string is never read, so no MRN or clinical value is put in a URL (where server logs, browser history and
    referrers keep it)."""
    if request.method == "POST":
        return request.POST
    values = QueryDict(mutable=True)
    if mrn is not None:
        values["mrn"] = mrn
    return values


@require_http_methods(["GET", "POST"])
@require_role(*IDENTIFIED)
def plan_builder(request: HttpRequest, mrn: str | None = None) -> HttpResponse:
    """Choose indication and product; the protocol fills in; adjust muscles, sides and units; the plan, the
    safety findings and the anatomic canvas follow every change (a little script posts the form as you type, and the
    Update button does the same without it). ``mrn``: opened from that patient's chart."""
    knowledge = build_knowledge()
    params = _form_values(request, mrn)
    today = clock().today()
    form = read_plan_form(knowledge, params, today)
    indication, product = params.get("indication", ""), params.get("product", "")
    products = product_choices(knowledge, indication)
    context: dict[str, Any] = {
        "indications": sorted(knowledge.indications.values(), key=lambda i: i.name),
        "approved_products": [p for p in products if p.approved],
        "off_label_products": [p for p in products if not p.approved],
        "indication_chosen": indication in knowledge.indications,
        "params": params,
        "sides": [s.value for s in SideChoice],
        "variants": _variants(knowledge, indication, product),
        "errors": form.errors,
        "prompts": form.prompts,
        "error_list": [(field_name(knowledge, form.protocol, key), problem) for key, problem in form.errors.items()],
        "prompt_list": [(field_name(knowledge, form.protocol, key), problem) for key, problem in form.prompts.items()],
        # what was typed when it was refused; else the age and weight planned with (from the chart or typed)
        "age": params.get("age", "") if "age" in form.errors else _plain(form.age),
        "weight_kg": params.get("weight_kg", "") if "weight_kg" in form.errors else _plain(form.weight_kg),
        "filled_from": form.filled_from,
        "chart_note": _chart_note(form, today),
        "today": today,
        "rows_weight": _plain(form.plan.plan.weight_kg) if form.plan is not None else params.get("rows_weight", ""),
        "dilution": dilution_fields(knowledge, product),
        "deviation_reason_length": DEVIATION_REASON_LENGTH,
        "may_record": bool(roles_of(request) & set(RECORDING)),
        "may_override": "clinician" in roles_of(request),
        "override_reason": params.get("override_reason", ""),
        # As posted, until a plan lays its sites out; positions refused are dropped, so the next update plans again.
        "placed": "" if "placed" in form.errors else params.get("placed", ""),
        "patient": form.patient_row,
        "banner": patient_banner(knowledge, form.patient_row.mrn, today) if form.patient_row is not None else None,
        "protocol": form.protocol,
        "rows": protocol_rows(knowledge, form, params),
    }
    if form.plan is not None:
        document = _document(knowledge, form)
        blocking = [f for f in document["findings"] if f["severity"] == Severity.BLOCK] if document else []
        rows = site_rows(document) if document else []
        drawn = (
            plan_sites(knowledge, form.plan.plan.indication, document["sites"], site_numbers(rows), form.placed)
            if document
            else ()
        )
        context.update(
            {
                "plan": document,
                "blocking": blocking,
                # A blocked plan goes on to the record form only with a clinician's written override; the record
                # form, and the service behind it, refuse it again without one.
                "record_disabled": bool(blocking)
                and not (context["may_override"] and context["override_reason"].strip()),
                "site_rows": rows,
                "plan_sources": link_cited_studies(document) if document else [],
                "views": canvas(knowledge, drawn),
                "placed": write_placed(drawn),
                "tap_rows": tap_targets(knowledge, form.plan.plan.protocol),
            }
        )
    return render(request, "web/plan.html", context)
