"""Inventory: lots by expiry (filtered: in stock, unexpired, product, lot number), open vials with their
beyond-use time, and the recall look-up."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bont.bootstrap import build_knowledge, clock
from bont.bootstrap import inventory as stock_inventory
from bont.services.inventory import inventory_view, recall
from bont.web.access import IDENTIFIED, INVENTORY, require_role, roles_of

LOT_NUMBER_LENGTH = 40  # the clinic model's limit; a longer search cannot match


@require_role(*INVENTORY)
def inventory(request: HttpRequest) -> HttpResponse:
    """Lots by expiry (those expiring within 60 days flagged), open vials with their remaining beyond-use time,
    and a recall look-up by lot number. The lot list hides expired lots unless asked (most of a clinic's lots
    are long expired); the filters are GET parameters, so a filtered list can be bookmarked."""
    knowledge = build_knowledge()
    errors: dict[str, str] = {}
    filtered = "filtered" in request.GET  # the filter form was sent: its unticked boxes mean "off"
    product = request.GET.get("product", "")
    if product and product not in knowledge.products:
        errors["product"] = "choose one of the products listed"
    lot_number = request.GET.get("lot", "").strip()
    recall_lot = request.GET.get("recall", "").strip()
    for name, typed in (("lot", lot_number), ("recall", recall_lot)):
        if len(typed) > LOT_NUMBER_LENGTH:
            errors[name] = f"a lot number has at most {LOT_NUMBER_LENGTH} characters"
    in_stock = request.GET.get("in_stock") == "on"
    unexpired = request.GET.get("unexpired") == "on" if filtered else True
    stock = stock_inventory()
    view = inventory_view(
        stock,
        knowledge,
        clock().now(),
        product=product if product and "product" not in errors else None,
        in_stock=in_stock,
        unexpired=unexpired,
        lot_number=lot_number if "lot" not in errors else "",
    )
    recalled = None
    if recall_lot and "recall" not in errors:
        recalled = sorted({(p.mrn, s.on.isoformat()) for p in recall(stock, recall_lot) for s in p.sessions})
        if not roles_of(request) & set(IDENTIFIED):
            recalled = [("(identified: ask a clinician)", day) for _, day in recalled]
    return render(
        request,
        "web/inventory.html",
        {
            "lots": view.lots,
            "open_vials": view.open_vials,
            "recall": recall_lot,
            "recalled": recalled,
            "products": list(knowledge.products.values()),
            "product": product,
            "lot": lot_number,
            "in_stock": in_stock,
            "unexpired": unexpired,
            "errors": errors,
            "lot_number_length": LOT_NUMBER_LENGTH,
        },
        status=400 if errors else 200,
    )
