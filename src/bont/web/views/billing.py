"""Billing: the claim lines of the sessions in a date range (procedure and guidance codes, the drug in whole
billing units with JW or JZ, ICD-10-CM, NDC, rendering NPI, place of service), a page at a time with the period's
totals, and their CSV export, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from itertools import islice

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from bont.bootstrap import billing_records, build_knowledge, clock, place_of_service
from bont.services.billing import billing_csv, billing_page
from bont.web.access import BILLING, IDENTIFIED, require_role, roles_of
from bont.web.audit_reads import Action, log_read
from bont.web.pages import Pages, page_number


def _period(request: HttpRequest) -> tuple[date, date, dict[str, str]]:
    """The date range asked for (default: this month so far), and any refused field."""
    today = clock().today()
    start, end = today.replace(day=1), today
    errors: dict[str, str] = {}
    for name in ("start", "end"):
        text = request.GET.get(name, "").strip()
        if not text:
            continue
        try:
            value = date.fromisoformat(text)
        except ValueError:
            errors[name] = "is not a date (YYYY-MM-DD)"
            continue
        if name == "start":
            start = value
        else:
            end = value
    if end < start and not errors:
        errors["end"] = "is before the start"
    return start, end, errors


@require_role(*BILLING)
def billing(request: HttpRequest) -> HttpResponse:
    start, end, errors = _period(request)
    found = None
    pages = None
    if not errors:
        found = billing_page(
            billing_records(), build_knowledge(), start, end, page_number(request), place_of_service=place_of_service()
        )
        pages = Pages.numbered(request, found.page, found.line_count, found.per_page)
    log_read(request, "billing", object_id=f"{start}..{end}")
    return render(
        request,
        "web/billing.html",
        {
            "start": start,
            "end": end,
            "errors": errors,
            "found": found,
            "pages": pages,
            "place_of_service": found.lines[0].place_of_service if found and found.lines else None,
            # A claim line carries what a claim needs; only roles that may read the chart get a link to the
            # session's clinical page (billing staff see claims, not charts).
            "may_open_sessions": bool(roles_of(request) & set(IDENTIFIED)),
        },
        status=400 if errors else 200,
    )


def _in_chunks(rows: Iterator[str], size: int = 1_000) -> Iterator[str]:
    """The sessions' rows joined a thousand sessions at a time: one write to the client per chunk, not per
    session."""
    while chunk := "".join(islice(rows, size)):
        yield chunk


@require_role(*BILLING)
def billing_export(request: HttpRequest) -> HttpResponseBase:
    start, end, errors = _period(request)
    if errors:
        return HttpResponse("; ".join(f"{k}: {v}" for k, v in errors.items()), status=400, content_type="text/plain")
    rows = billing_csv(billing_records(), build_knowledge(), start, end, place_of_service())
    log_read(request, "billing-export", object_id=f"{start}..{end}", action=Action.EXPORT)
    response = StreamingHttpResponse(_in_chunks(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bont-claims-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
    return response
