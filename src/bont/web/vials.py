"""The vials a session can draw from: open vials still within their beyond-use time, and the next sealed
vial of every unexpired lot. Shared by the inventory and the record-session pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q

from bont.clinic import models
from bont.domain.knowledge import KnowledgeBase


@dataclass(frozen=True)
class VialOption:
    """A choice in the vial list: ``vial:<id>`` for an open vial, ``lot:<id>`` for a new sealed vial."""

    value: str
    lot_number: str
    lot_expiry: date
    units_left: Decimal
    sealed_count: int  # sealed vials of the lot (for a lot option)
    hours_left: float | None  # beyond-use time left (for an open vial); None when not recorded or unknown
    vial_id: int | None
    diluent_ml: Decimal | None  # of an open vial

    @property
    def label(self) -> str:
        if self.vial_id is None:
            return f"lot {self.lot_number} · new vial ({self.sealed_count} sealed) · expires {self.lot_expiry:%Y-%m-%d}"
        left = "" if self.hours_left is None else f" · {self.hours_left:.1f} h left"
        return f"lot {self.lot_number} · open vial {self.vial_id} · {self.units_left.normalize():f} U left{left}"


def hours_left(knowledge: KnowledgeBase, vial: models.Vial, now: datetime) -> float | None:
    """The beyond-use time left on a reconstituted vial, from the product's cited storage time."""
    product = knowledge.products.get(vial.lot.product)
    if product is None or product.beyond_use_hours is None or vial.reconstituted_at is None:
        return None
    ends = vial.reconstituted_at + timedelta(hours=product.beyond_use_hours.value)
    return round((ends - now).total_seconds() / 3600, 1)


def vial_options(knowledge: KnowledgeBase, product: str, today: date, now: datetime) -> list[VialOption]:
    options = []
    open_vials = (
        models.Vial.objects.filter(lot__product=product, state=models.Vial.State.RECONSTITUTED, lot__expiry__gte=today)
        .select_related("lot")
        .order_by("reconstituted_at", "pk")
    )
    for vial in open_vials:
        left = hours_left(knowledge, vial, now)
        if left is not None and left <= 0:
            continue
        options.append(
            VialOption(
                value=f"vial:{vial.pk}",
                lot_number=vial.lot.lot_number,
                lot_expiry=vial.lot.expiry,
                units_left=vial.lot.vial_units - vial.units_drawn,
                sealed_count=0,
                hours_left=left,
                vial_id=vial.pk,
                diluent_ml=vial.diluent_ml,
            )
        )
    lots = (
        models.Lot.objects.filter(product=product, expiry__gte=today)
        .annotate(sealed=Count("vials", filter=Q(vials__state=models.Vial.State.SEALED)))
        .filter(sealed__gt=0)
        .order_by("expiry", "pk")
    )
    for lot in lots:
        options.append(
            VialOption(
                value=f"lot:{lot.pk}",
                lot_number=lot.lot_number,
                lot_expiry=lot.expiry,
                units_left=lot.vial_units,
                sealed_count=lot.sealed,
                hours_left=None,
                vial_id=None,
                diluent_ml=None,
            )
        )
    return options
