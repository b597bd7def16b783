"""The clinic-wide audit search (administrators only): record changes, reads and exports, filtered by user,
patient MRN, days and kind, 50 a page, and the CSV export of a search (itself logged as an export).

The filters are posted, pages and export included, so that no MRN is in an address."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date

from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_POST

from bont.bootstrap import access_log
from bont.services.access_log import (
    MRN_LENGTH,
    USERNAME_LENGTH,
    AuditKind,
    AuditQuery,
    AuditSearchError,
    audit_export,
    check_audit_query,
    search_audit,
)
from bont.web.access import require_role
from bont.web.audit_reads import Action, log_read

AUDITING = ("admin",)
FIELD_LABELS = {"user": "User", "mrn": "Patient MRN", "start": "From", "end": "To", "kind": "Kind", "page": "Page"}


def _query(values: QueryDict) -> tuple[AuditQuery, int, dict[str, str]]:
    """The search asked for, its page, and each refused field with why."""
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {"start": None, "end": None}
    for name in days:
        text = values.get(name, "").strip()
        if text:
            try:
                days[name] = date.fromisoformat(text)
            except ValueError:
                errors[name] = "is not a date (YYYY-MM-DD)"
    kind_text = values.get("kind", "")
    kind = None
    if kind_text:
        try:
            kind = AuditKind(kind_text)
        except ValueError:
            errors["kind"] = "must be change, read or export"
    page_text = values.get("page", "1")
    page = int(page_text) if page_text.isascii() and page_text.isdigit() and len(page_text) < 8 else 0
    query = AuditQuery(
        username=values.get("user", "").strip(),
        mrn=values.get("mrn", "").strip(),
        start=days["start"],
        end=days["end"],
        kind=kind,
    )
    return query, page, errors


@require_role(*AUDITING)
def audit_search(request: HttpRequest) -> HttpResponse:
    query, page, errors = _query(request.POST)  # a GET: the first page of everything
    result = None
    if not errors:
        try:
            result = search_audit(access_log(), query, page)
        except AuditSearchError as error:
            errors[error.field] = error.problem
        else:
            log_read(request, "audit-search", query.mrn or None, f"page {page}")
    context = {
        "query": query,
        "result": result,
        "errors": [(FIELD_LABELS.get(name, name), problem) for name, problem in errors.items()],
        "kinds": [kind.value for kind in AuditKind],
        "limits": {"user": USERNAME_LENGTH, "mrn": MRN_LENGTH},
    }
    return render(request, "web/audit_search.html", context, status=400 if errors else 200)


class _Line:
    """What ``csv.writer`` writes to: hands each line back instead of keeping it."""

    def write(self, line: str) -> str:
        return line


@require_POST
@require_role(*AUDITING)
def audit_export_csv(request: HttpRequest) -> HttpResponseBase:
    query, _, errors = _query(request.POST)
    if not errors:
        try:
            check_audit_query(query)
        except AuditSearchError as error:
            errors[error.field] = error.problem
    if errors:
        message = "; ".join(f"{FIELD_LABELS.get(k, k)}: {v}" for k, v in errors.items())
        return HttpResponse(message, status=400, content_type="text/plain")
    log_read(request, "audit-export", query.mrn or None, action=Action.EXPORT)
    writer = csv.writer(_Line())

    def lines() -> Iterator[str]:
        for row in audit_export(access_log(), query):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="bont-audit.csv"'
    return response
