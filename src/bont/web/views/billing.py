"""Billing: claim lines per session (HCPCS billing units, JW/JZ, CPT) for a date range, and their CSV export."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bont.bootstrap import billing_records, build_knowledge, clock
from bont.services.billing import billing_csv, billing_lines
from bont.web.access import BILLING, require_role


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
    lines = () if errors else billing_lines(billing_records(), build_knowledge(), start, end)
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in lines:
        totals[(line.hcpcs, line.modifier)] += line.billing_units
    return render(
        request,
        "web/billing.html",
        {
            "start": start,
            "end": end,
            "errors": errors,
            "lines": lines,
            "totals": sorted(totals.items()),
            "query": request.GET.urlencode(),
        },
        status=400 if errors else 200,
    )


@require_role(*BILLING)
def billing_export(request: HttpRequest) -> HttpResponse:
    start, end, errors = _period(request)
    if errors:
        return HttpResponse("; ".join(f"{k}: {v}" for k, v in errors.items()), status=400, content_type="text/plain")
    response = HttpResponse(
        billing_csv(billing_lines(billing_records(), build_knowledge(), start, end)), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="bont-claims-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
    return response
