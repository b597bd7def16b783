"""The plan builder and its printable procedure sheet."""

from __future__ import annotations

from typing import Any

from csp.constants import NONCE
from csp.decorators import csp_update
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from bont.bootstrap import build_knowledge, clock
from bont.domain.anatomy import DiagramView
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import SideChoice
from bont.interop.procedure_sheet import render_procedure_sheet, site_rows
from bont.services.documents import plan_document
from bont.web.access import IDENTIFIED, RECORDING, require_role, roles_of
from bont.web.bodymap import VIEW_TITLES, dots
from bont.web.plan_form import PlanForm, protocol_rows, read_plan_form


def _document(knowledge: KnowledgeBase, form: PlanForm) -> dict[str, Any] | None:
    """The plan as a document, with the safety check's verdict and findings (against the stored history when
    a patient is chosen)."""
    return plan_document(form.plan, knowledge) if form.plan is not None else None


def _variants(knowledge: KnowledgeBase, indication: str, product: str) -> list[str]:
    """The protocol variants (e.g. upper or lower limb) the indication has for the product."""
    if indication not in knowledge.indications or product not in knowledge.products:
        return []
    return sorted({p.variant for p in knowledge.indications[indication].protocols_for(product) if p.variant})


@require_role(*IDENTIFIED)
def plan_builder(request: HttpRequest) -> HttpResponse:
    """Choose indication and product; the protocol fills in; adjust muscles, sides and units; the plan, the
    safety findings and the body map follow every change (a little script re-submits the form as you type,
    and the Update button does the same without it)."""
    knowledge = build_knowledge()
    params = request.GET
    today = clock().today()
    form = read_plan_form(knowledge, params, today)
    context: dict[str, Any] = {
        "indications": sorted(knowledge.indications.values(), key=lambda i: i.name),
        "products": list(knowledge.products.values()),
        "params": params,
        "sides": [s.value for s in SideChoice],
        "variants": _variants(knowledge, params.get("indication", ""), params.get("product", "")),
        "errors": form.errors,
        "query": params.urlencode(),
        "may_record": bool(roles_of(request) & set(RECORDING)),
        "patient": form.patient_row,
        "protocol": form.protocol,
        "rows": protocol_rows(knowledge, form, params),
    }
    if form.plan is not None:
        document = _document(knowledge, form)
        context.update(
            {
                "plan": document,
                "site_rows": site_rows(document) if document else [],
                "map": [
                    {"title": VIEW_TITLES[DiagramView(view)], "view": view, "dots": points}
                    for view, points in dots(knowledge, form.plan.plan).items()
                ],
            }
        )
    return render(request, "web/plan.html", context)


@require_role(*IDENTIFIED)
@csp_update({"style-src": [NONCE]})
def procedure_sheet(request: HttpRequest) -> HttpResponse:
    """The one-page procedure sheet of the plan builder's current plan, for printing."""
    knowledge = build_knowledge()
    today = clock().today()
    form = read_plan_form(knowledge, request.GET, today)
    document = _document(knowledge, form)
    if document is None:  # nothing to print: back to the builder, which shows why
        return redirect(f"{reverse('plan')}?{request.GET.urlencode()}")
    nonce = str(request.csp_nonce)  # type: ignore[attr-defined]  # set by django-csp's middleware
    return HttpResponse(render_procedure_sheet(document, style_nonce=nonce))
