"""Inventory: lots by expiry, open vials with their beyond-use time, and the recall look-up."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bont.bootstrap import build_knowledge, clock
from bont.clinic import models
from bont.web.access import IDENTIFIED, INVENTORY, require_role, roles_of
from bont.web.vials import hours_left


@require_role(*INVENTORY)
def inventory(request: HttpRequest) -> HttpResponse:
    """Lots by expiry (those expiring within 60 days flagged), open vials with their remaining beyond-use time,
    and a recall look-up by lot number."""
    knowledge = build_knowledge()
    now = clock().now()
    today = now.date()
    lots = []
    for lot in models.Lot.objects.order_by("expiry")[:300]:
        brand = knowledge.products[lot.product].brand if lot.product in knowledge.products else lot.product
        sealed = lot.vials.filter(state=models.Vial.State.SEALED).count()
        lots.append(
            {
                "lot": lot,
                "brand": brand,
                "sealed": sealed,
                "soon": lot.expiry <= today + timedelta(days=60),
                "expired": lot.expiry < today,
            }
        )
    open_vials = []
    for vial in models.Vial.objects.filter(state=models.Vial.State.RECONSTITUTED).select_related("lot")[:300]:
        product = knowledge.products.get(vial.lot.product)
        open_vials.append(
            {
                "vial": vial,
                "brand": product.brand if product else vial.lot.product,
                "remaining_units": vial.lot.vial_units - vial.units_drawn,
                "hours_left": hours_left(knowledge, vial, now),
            }
        )
    recall_lot = request.GET.get("recall", "").strip()
    recalled = None
    if recall_lot:
        draws = models.VialDraw.objects.filter(vial__lot__lot_number=recall_lot).select_related("session__patient")
        recalled = sorted({(d.session.patient.mrn, d.session.date.isoformat()) for d in draws})
        if not roles_of(request) & set(IDENTIFIED):
            recalled = [("(identified: ask a clinician)", day) for _, day in recalled]
    return render(
        request,
        "web/inventory.html",
        {"lots": lots, "open_vials": open_vials, "recall": recall_lot, "recalled": recalled},
    )
