"""Use cases for lots and vials: receiving a lot, reconstituting a vial, the recall of a lot, the inventory
(lots by expiry, open vials with their beyond-use time left) and the vials a session can draw from.

The ``Inventory`` port stores lots and vials; the Django adapter is ``bont.clinic.inventory_records``. Errors
name the field and never repeat a patient's identifiers.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from bont.domain.dilution import judge_diluent
from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase

EXPIRES_SOON = timedelta(days=60)
SEALED = "sealed"
RECONSTITUTED = "reconstituted"


class InventoryError(FieldError):
    """A lot or vial command was refused; ``field`` names the input at fault. Nothing was written."""


@dataclass(frozen=True)
class NewLot:
    """A lot as received: its vials arrive sealed."""

    product: str
    lot_number: str
    expiry: date
    vial_units: Decimal
    quantity: int
    received_on: date
    ndc: str = ""


@dataclass(frozen=True)
class StockLot:
    """A lot on the shelf: how many vials it came with and how many are still sealed."""

    lot_id: int
    product: str
    lot_number: str
    expiry: date
    vial_units: Decimal
    vials: int
    sealed: int


@dataclass(frozen=True)
class StockVial:
    """One vial of a lot, as stored."""

    vial_id: int
    lot_id: int
    product: str
    lot_number: str
    lot_expiry: date
    vial_units: Decimal
    units_drawn: Decimal
    state: str  # sealed, reconstituted, used-up, discarded
    reconstituted_at: datetime | None
    diluent_ml: Decimal | None

    @property
    def remaining(self) -> Decimal:
        return self.vial_units - self.units_drawn


@dataclass(frozen=True)
class LotDraw:
    """One draw from a vial of a lot, with the session and the patient who received it (for a recall)."""

    product: str
    lot_number: str
    session_id: int
    on: date
    units: Decimal
    patient_mrn: str
    patient_name: str  # "Family, Given"
    birth_date: date


@dataclass(frozen=True)
class LotFilter:
    """Which lots a list shows: with a sealed vial left, not expired on a day, containing some text in the lot
    number (any case)."""

    in_stock: bool = False
    unexpired_on: date | None = None
    lot_number: str = ""

    def keeps(self, lot: StockLot) -> bool:
        """The filter as plain Python: what every adapter's query must agree with."""
        return (
            (not self.in_stock or lot.sealed > 0)
            and (self.unexpired_on is None or lot.expiry >= self.unexpired_on)
            and self.lot_number.casefold() in lot.lot_number.casefold()
        )


class Inventory(abc.ABC):
    """The clinic's lots and vials."""

    @abc.abstractmethod
    def add_lot(self, new: NewLot) -> tuple[int, ...]:
        """Store the lot and its sealed vials in one transaction; returns the vial ids. Raises
        ``InventoryError`` (field ``lot``) when the product already has a lot of this number."""

    @abc.abstractmethod
    def open_sealed_vial(self, vial_id: int, at: datetime, diluent_ml: Decimal | None) -> StockVial | None:
        """Mark the vial reconstituted at ``at`` if it is sealed (atomically: two callers cannot both open
        it); returns the vial as it was found, None when there is no such vial."""

    @abc.abstractmethod
    def lots(
        self, product: str | None = None, limit: int | None = None, *, shelf: LotFilter | None = None
    ) -> tuple[StockLot, ...]:
        """The lots (of ``product``, or all; only those ``shelf`` keeps), by expiry then id, at most ``limit``."""

    @abc.abstractmethod
    def find_lot(self, product: str, *, lot_number: str | None = None, lot_id: int | None = None) -> StockLot | None:
        """The product's lot with this number or id, None when it has none."""

    @abc.abstractmethod
    def lot_vials(self, lot_id: int) -> tuple[StockVial, ...]:
        """Every vial of the lot, by id."""

    @abc.abstractmethod
    def vial(self, vial_id: int) -> StockVial | None:
        """The vial, None when there is no such vial."""

    @abc.abstractmethod
    def open_vials(self, product: str | None = None, limit: int | None = None) -> tuple[StockVial, ...]:
        """The reconstituted vials (of ``product``, or all), by id, at most ``limit``."""

    @abc.abstractmethod
    def draws_from_lot(self, lot_number: str, product: str | None = None) -> tuple[LotDraw, ...]:
        """Every draw from a vial of a lot of this number (of ``product``, or any), by session date; a withdrawn
        session's draws included (the vial was drawn), except those carried to the session correcting it."""


# -- receiving, reconstituting, recalling


def receive_lot(inventory: Inventory, new: NewLot) -> tuple[int, ...]:
    """Receive a lot: the lot and its sealed vials; returns the vial ids."""
    if new.quantity <= 0:
        raise InventoryError("quantity", "must be at least 1")
    return inventory.add_lot(new)


def reconstitute_vial(
    inventory: Inventory, knowledge: KnowledgeBase, vial_id: int, diluent_ml: Decimal | None, at: datetime
) -> None:
    """Record that a sealed vial was reconstituted at ``at`` (its beyond-use time starts then), with a diluent
    volume the label's dilution table allows for that vial (the one answer the planner and recorder use)."""
    if diluent_ml is not None and (vial := inventory.vial(vial_id)) is not None:
        verdict = judge_diluent(knowledge.product(vial.product), vial.vial_units, diluent_ml)
        if verdict.refusal is not None:
            raise InventoryError("diluent_ml", verdict.refusal)
    found = inventory.open_sealed_vial(vial_id, at, diluent_ml)
    if found is None:
        raise InventoryError("vial", f"vial {vial_id} does not exist")
    if found.state != SEALED:
        raise InventoryError("vial", f"vial {vial_id} is {found.state}, not sealed")


@dataclass(frozen=True)
class RecalledSession:
    session_id: int
    on: date
    units: Decimal


@dataclass(frozen=True)
class RecalledPatient:
    """A patient who received a vial of the recalled lot, and the sessions concerned (by date)."""

    mrn: str
    name: str
    birth_date: date
    sessions: tuple[RecalledSession, ...]


def recall(inventory: Inventory, lot_number: str, product: str | None = None) -> tuple[RecalledPatient, ...]:
    """Every patient who received a vial of this lot (of ``product``, or of any product), in the order of
    their first session concerned."""
    patients: dict[str, tuple[LotDraw, list[RecalledSession]]] = {}
    for draw in inventory.draws_from_lot(lot_number, product):
        _, sessions = patients.setdefault(draw.patient_mrn, (draw, []))
        sessions.append(RecalledSession(draw.session_id, draw.on, draw.units))
    return tuple(
        RecalledPatient(first.patient_mrn, first.patient_name, first.birth_date, tuple(sessions))
        for first, sessions in patients.values()
    )


# -- the inventory page


def hours_left(knowledge: KnowledgeBase, vial: StockVial, now: datetime) -> float | None:
    """The beyond-use time left on a reconstituted vial, from the product's cited storage time; None when
    the product gives none or the reconstitution time was not recorded."""
    product = knowledge.products.get(vial.product)
    if product is None or product.beyond_use_hours is None or vial.reconstituted_at is None:
        return None
    ends = vial.reconstituted_at + timedelta(hours=product.beyond_use_hours.value)
    return round((ends - now).total_seconds() / 3600, 1)


def _brand(knowledge: KnowledgeBase, product: str) -> str:
    found = knowledge.products.get(product)
    return found.brand if found else product


@dataclass(frozen=True)
class LotLine:
    lot: StockLot
    brand: str
    sealed: int
    soon: bool  # expires within 60 days
    expired: bool


@dataclass(frozen=True)
class OpenVialLine:
    vial: StockVial
    brand: str
    remaining_units: Decimal
    hours_left: float | None


@dataclass(frozen=True)
class InventoryView:
    lots: tuple[LotLine, ...]
    open_vials: tuple[OpenVialLine, ...]


def inventory_view(
    inventory: Inventory,
    knowledge: KnowledgeBase,
    now: datetime,
    limit: int = 300,
    *,
    product: str | None = None,
    in_stock: bool = False,
    unexpired: bool = False,
    lot_number: str = "",
) -> InventoryView:
    """Lots by expiry (flagged when expired or expiring within 60 days) and the open vials with their
    remaining beyond-use time; only the ``product``'s when one is given, and only the lots with a sealed vial
    left (``in_stock``), not expired today (``unexpired``) or whose number contains ``lot_number``."""
    today = now.date()
    shelf = LotFilter(in_stock, today if unexpired else None, lot_number.strip())
    return InventoryView(
        lots=tuple(
            LotLine(
                lot, _brand(knowledge, lot.product), lot.sealed, lot.expiry <= today + EXPIRES_SOON, lot.expiry < today
            )
            for lot in inventory.lots(product, limit=limit, shelf=shelf)
        ),
        open_vials=tuple(
            OpenVialLine(vial, _brand(knowledge, vial.product), vial.remaining, hours_left(knowledge, vial, now))
            for vial in inventory.open_vials(product, limit=limit)
        ),
    )


# -- the vials a session can draw from


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


def _opened_order(vial: StockVial) -> tuple[bool, float, int]:
    return (
        vial.reconstituted_at is None,
        vial.reconstituted_at.timestamp() if vial.reconstituted_at else 0.0,
        vial.vial_id,
    )


def vial_options(inventory: Inventory, knowledge: KnowledgeBase, product: str, now: datetime) -> tuple[VialOption, ...]:
    """Open vials of the product still within their beyond-use time and of an unexpired lot (first opened
    first), then a new sealed vial of every unexpired lot that has one (expiring first first)."""
    today = now.date()
    options = []
    for vial in sorted(inventory.open_vials(product), key=_opened_order):
        left = hours_left(knowledge, vial, now)
        if vial.lot_expiry < today or (left is not None and left <= 0):
            continue
        options.append(
            VialOption(
                f"vial:{vial.vial_id}",
                vial.lot_number,
                vial.lot_expiry,
                vial.remaining,
                0,
                left,
                vial.vial_id,
                vial.diluent_ml,
            )
        )
    for lot in inventory.lots(product):
        if lot.expiry >= today and lot.sealed > 0:
            options.append(
                VialOption(
                    f"lot:{lot.lot_id}", lot.lot_number, lot.expiry, lot.vial_units, lot.sealed, None, None, None
                )
            )
    return tuple(options)


def _next_sealed(inventory: Inventory, lot_id: int, taken: set[int]) -> StockVial | None:
    """The lot's next sealed vial not already listed in this session."""
    return next((v for v in inventory.lot_vials(lot_id) if v.state == SEALED and v.vial_id not in taken), None)


def vial_for_lot(
    inventory: Inventory, product: str, lot_number: str, units: Decimal, taken: set[int], field: str
) -> StockVial:
    """The vial a scanned lot number means: an open vial of the lot holding enough, else its next sealed one."""
    lot = inventory.find_lot(product, lot_number=lot_number)
    if lot is None:
        raise FieldError(field, "no lot of this product has that number")
    vials = [v for v in inventory.lot_vials(lot.lot_id) if v.vial_id not in taken]
    for vial in vials:
        if vial.state == RECONSTITUTED and vial.remaining >= units:
            return vial
    sealed = next((v for v in vials if v.state == SEALED), None)
    if sealed is None:
        raise FieldError(field, "this lot has no sealed vial left and no open vial holding that many units")
    return sealed


def chosen_vial(
    inventory: Inventory, product: str, choice: str, lot_number: str, units: Decimal, taken: set[int], row: int
) -> StockVial:
    """The vial a row of the record form means: ``vial:<id>`` (an open vial), ``lot:<id>`` (the lot's next
    sealed vial) or, with no choice, the scanned lot number; a scanned lot must match the chosen vial's."""
    kind, _, key = choice.partition(":")
    if not choice:
        return vial_for_lot(inventory, product, lot_number, units, taken, f"lot:{row}")
    if kind not in ("vial", "lot") or not key.isdigit():
        raise FieldError(f"vial:{row}", "choose a vial from the list")
    if kind == "vial":
        vial = inventory.vial(int(key))
        if vial is None or vial.product != product:
            raise FieldError(f"vial:{row}", "that vial is not one of this product's")
        if vial.vial_id in taken:
            raise FieldError(f"vial:{row}", "this vial is already listed above")
    else:
        lot = inventory.find_lot(product, lot_id=int(key))
        if lot is None:
            raise FieldError(f"vial:{row}", "that lot is not one of this product's")
        found = _next_sealed(inventory, lot.lot_id, taken)
        if found is None:
            raise FieldError(f"vial:{row}", "this lot has no sealed vial left")
        vial = found
    if lot_number and vial.lot_number != lot_number:
        raise FieldError(f"lot:{row}", "the scanned lot is not the lot of the chosen vial")
    return vial
