"""The de-identified registry page for researchers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bont.bootstrap import build_knowledge, clock, outcome_records
from bont.services.research import registry
from bont.web.access import RESEARCH, require_role


@require_role(*RESEARCH)
def research(request: HttpRequest) -> HttpResponse:
    """De-identified: counts only, never names, MRNs or dates of birth."""
    found = registry(outcome_records(), build_knowledge(), clock().today())
    return render(request, "web/research.html", {"rows": found.treatments, "responders": found.responders})
