"""The de-identified registry page for researchers."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bont.bootstrap import build_knowledge, clock
from bont.clinic import models
from bont.clinic.outcomes import responder_rates
from bont.web.access import RESEARCH, require_role


@require_role(*RESEARCH)
def research(request: HttpRequest) -> HttpResponse:
    """De-identified: counts only, never names, MRNs or dates of birth."""
    knowledge = build_knowledge()
    rows = (
        models.TreatmentSession.objects.filter(withdrawn_reason="")
        .values("indication", "product")
        .annotate(sessions=Count("id"), patients=Count("patient", distinct=True))
        .order_by("indication", "product")
    )
    table = [
        {
            **row,
            "indication_name": knowledge.indications[row["indication"]].name,
            "brand": knowledge.products[row["product"]].brand,
        }
        for row in rows
        if row["indication"] in knowledge.indications and row["product"] in knowledge.products
    ]
    responders = responder_rates(knowledge, clock().today())
    return render(request, "web/research.html", {"rows": table, "responders": responders})
