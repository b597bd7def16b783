"""The Django implementation of the inventory port (``bont.services.inventory.Inventory``): lots and vials.
Rows go in, read models come out."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from simple_history.utils import bulk_create_with_history

from bont.clinic import models
from bont.services.inventory import Inventory, InventoryError, LotDraw, LotFilter, NewLot, StockLot, StockVial


def _vial(row: models.Vial) -> StockVial:
    return StockVial(
        vial_id=row.pk,
        lot_id=row.lot_id,
        product=row.lot.product,
        lot_number=row.lot.lot_number,
        lot_expiry=row.lot.expiry,
        vial_units=row.lot.vial_units,
        units_drawn=row.units_drawn,
        state=row.state,
        reconstituted_at=row.reconstituted_at,
        diluent_ml=row.diluent_ml,
    )


def _lots() -> QuerySet[models.Lot]:
    return models.Lot.objects.annotate(
        vial_count=Count("vials"), sealed=Count("vials", filter=Q(vials__state=models.Vial.State.SEALED))
    )


def _lot(row: models.Lot) -> StockLot:
    return StockLot(
        lot_id=row.pk,
        product=row.product,
        lot_number=row.lot_number,
        expiry=row.expiry,
        vial_units=row.vial_units,
        vials=row.vial_count,  # type: ignore[attr-defined]  # annotated by _lots()
        sealed=row.sealed,  # type: ignore[attr-defined]
    )


class DjangoInventory(Inventory):
    def add_lot(self, new: NewLot) -> tuple[int, ...]:
        try:
            with transaction.atomic():
                lot = models.Lot.objects.create(
                    product=new.product,
                    lot_number=new.lot_number,
                    expiry=new.expiry,
                    ndc=new.ndc,
                    vial_units=new.vial_units,
                    quantity_received=new.quantity,
                    received_on=new.received_on,
                )
                vials = bulk_create_with_history([models.Vial(lot=lot) for _ in range(new.quantity)], models.Vial)
        except IntegrityError as error:
            raise InventoryError("lot", "this lot number is already recorded for the product") from error
        return tuple(int(vial.pk) for vial in vials)

    def open_sealed_vial(self, vial_id: int, at: datetime, diluent_ml: Decimal | None) -> StockVial | None:
        with transaction.atomic():
            row = models.Vial.objects.select_for_update().select_related("lot").filter(pk=vial_id).first()
            if row is None:
                return None
            found = _vial(row)
            if row.state == models.Vial.State.SEALED:
                row.state = models.Vial.State.RECONSTITUTED
                row.reconstituted_at = at
                row.diluent_ml = diluent_ml
                row.save()
            return found

    def lots(
        self, product: str | None = None, limit: int | None = None, *, shelf: LotFilter | None = None
    ) -> tuple[StockLot, ...]:
        rows = _lots().order_by("expiry", "pk")
        if product is not None:
            rows = rows.filter(product=product)
        if shelf is not None:
            if shelf.in_stock:
                rows = rows.filter(
                    Exists(models.Vial.objects.filter(lot=OuterRef("pk"), state=models.Vial.State.SEALED))
                )
            if shelf.unexpired_on is not None:
                rows = rows.filter(expiry__gte=shelf.unexpired_on)
            if shelf.lot_number:
                rows = rows.filter(lot_number__icontains=shelf.lot_number)
        return tuple(_lot(row) for row in (rows[:limit] if limit is not None else rows))

    def find_lot(self, product: str, *, lot_number: str | None = None, lot_id: int | None = None) -> StockLot | None:
        rows = _lots().filter(product=product)
        if lot_number is not None:
            rows = rows.filter(lot_number=lot_number)
        if lot_id is not None:
            rows = rows.filter(pk=lot_id)
        row = rows.first()
        return None if row is None else _lot(row)

    def lot_vials(self, lot_id: int) -> tuple[StockVial, ...]:
        return tuple(
            _vial(row) for row in models.Vial.objects.select_related("lot").filter(lot_id=lot_id).order_by("pk")
        )

    def vial(self, vial_id: int) -> StockVial | None:
        row = models.Vial.objects.select_related("lot").filter(pk=vial_id).first()
        return None if row is None else _vial(row)

    def open_vials(self, product: str | None = None, limit: int | None = None) -> tuple[StockVial, ...]:
        rows = models.Vial.objects.filter(state=models.Vial.State.RECONSTITUTED).select_related("lot").order_by("pk")
        if product is not None:
            rows = rows.filter(lot__product=product)
        return tuple(_vial(row) for row in (rows[:limit] if limit is not None else rows))

    def draws_from_lot(self, lot_number: str, product: str | None = None) -> tuple[LotDraw, ...]:
        draws = (
            models.VialDraw.objects.filter(vial__lot__lot_number=lot_number)
            # A corrected session's draws are carried to the session that corrects it: listed once, there.
            .filter(session__corrected_by__isnull=True)
            .select_related("session__patient", "vial__lot")
            .order_by("session__date", "session_id", "pk")
        )
        if product is not None:
            draws = draws.filter(vial__lot__product=product)
        return tuple(
            LotDraw(
                product=draw.vial.lot.product,
                lot_number=draw.vial.lot.lot_number,
                session_id=draw.session_id,
                on=draw.session.date,
                units=draw.units,
                patient_mrn=draw.session.patient.mrn,
                patient_name=f"{draw.session.patient.family_name}, {draw.session.patient.given_name}",
                birth_date=draw.session.patient.birth_date,
            )
            for draw in draws
        )
