"""The answers for a page that is not there and for a server error: JSON under /api/, as every other answer
of the API (a program reads ``detail``), an OperationOutcome under /fhir/, a page of the app elsewhere."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from bont.web.fhir.documents import FHIR_JSON, operation_outcome

API_PREFIX = "/api/"
FHIR_PREFIX = "/fhir/"  # the FHIR API answers an OperationOutcome (its 404s are its own: every address matches)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # An id beyond any row, or a chart key of no chart, matches no route: a 404 here, never the reason why.
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not Found"}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(FHIR_PREFIX):
        outcome = operation_outcome("exception", "Server error: it is logged, without patient data")
        return HttpResponse(json.dumps(outcome), content_type=FHIR_JSON, status=500)
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Server error: it is logged, without patient data"}, status=500)
    # The page is drawn without the request: its user, its session or the database may be what failed.
    return HttpResponse(render_to_string("500.html"), status=500)
