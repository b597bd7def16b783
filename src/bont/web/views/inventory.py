"""Inventory: lots by expiry, open vials with their beyond-use time, and the recall look-up."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bont.bootstrap import build_knowledge, clock
from bont.bootstrap import inventory as stock_inventory
from bont.services.inventory import inventory_view, recall
from bont.web.access import IDENTIFIED, INVENTORY, require_role, roles_of


@require_role(*INVENTORY)
def inventory(request: HttpRequest) -> HttpResponse:
    """Lots by expiry (those expiring within 60 days flagged), open vials with their remaining beyond-use time,
    and a recall look-up by lot number."""
    stock = stock_inventory()
    view = inventory_view(stock, build_knowledge(), clock().now())
    recall_lot = request.GET.get("recall", "").strip()
    recalled = None
    if recall_lot:
        recalled = sorted({(p.mrn, s.on.isoformat()) for p in recall(stock, recall_lot) for s in p.sessions})
        if not roles_of(request) & set(IDENTIFIED):
            recalled = [("(identified: ask a clinician)", day) for _, day in recalled]
    return render(
        request,
        "web/inventory.html",
        {"lots": view.lots, "open_vials": view.open_vials, "recall": recall_lot, "recalled": recalled},
    )
