"""The de-identified registry page for researchers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bont.bootstrap import build_knowledge, outcome_records
from bont.services.research import SMALL_CELL_THRESHOLD, published_registry
from bont.web.access import RESEARCH, require_role
from bont.web.audit_reads import log_read


@require_role(*RESEARCH)
def research(request: HttpRequest) -> HttpResponse:
    """De-identified: counts only, never names, MRNs or dates of birth, and no count of fewer than
    ``SMALL_CELL_THRESHOLD`` patients."""
    found = published_registry(outcome_records(), build_knowledge())
    log_read(request, "research")
    return render(
        request,
        "web/research.html",
        {
            "rows": found.treatments,
            "responders": found.responders,
            "responders_outdated": found.responders_outdated,
            "threshold": SMALL_CELL_THRESHOLD,
        },
    )
