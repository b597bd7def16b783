"""Lots and vials on the in-memory inventory: receiving, reconstitution, recall and the vials a session can
draw from (bont.services.inventory)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.services.inventory import (
    InventoryError,
    LotDraw,
    NewLot,
    chosen_vial,
    inventory_view,
    recall,
    receive_lot,
    reconstitute_vial,
    vial_for_lot,
    vial_options,
)
from tests.fakes import FakeInventory, FakeStockroom

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
BOTOX = "onabotulinumtoxinA"


def lot(number: str, expiry: date, quantity: int = 2, product: str = BOTOX) -> NewLot:
    return NewLot(product, number, expiry, Decimal(100), quantity, date(2026, 11, 1))


def test_receiving_a_lot_stores_its_vials_sealed_and_refuses_the_same_lot_twice() -> None:
    stock = FakeInventory(FakeStockroom())
    vials = receive_lot(stock, lot("FICT-L1", date(2027, 6, 30), quantity=3))
    assert len(vials) == 3
    assert {stock.vial(v).state for v in vials} == {"sealed"}  # type: ignore[union-attr]
    with pytest.raises(InventoryError) as refused:
        receive_lot(stock, lot("FICT-L1", date(2027, 6, 30)))
    assert refused.value.field == "lot"


def test_a_lot_of_no_vials_is_refused_naming_the_quantity() -> None:
    with pytest.raises(InventoryError) as refused:
        receive_lot(FakeInventory(FakeStockroom()), lot("FICT-L2", date(2027, 6, 30), quantity=0))
    assert refused.value.field == "quantity"


def test_a_vial_is_reconstituted_once_and_an_unknown_vial_is_refused(knowledge: KnowledgeBase) -> None:
    stock = FakeInventory(FakeStockroom())
    (vial_id, _) = receive_lot(stock, lot("FICT-L3", date(2027, 6, 30)))
    reconstitute_vial(stock, knowledge, vial_id, Decimal(2), NOW)
    opened = stock.vial(vial_id)
    assert opened is not None
    assert (opened.state, opened.reconstituted_at, opened.diluent_ml) == ("reconstituted", NOW, Decimal(2))
    with pytest.raises(InventoryError, match="reconstituted, not sealed") as twice:
        reconstitute_vial(stock, knowledge, vial_id, Decimal(2), NOW)
    assert twice.value.field == "vial"
    with pytest.raises(InventoryError, match="does not exist"):
        reconstitute_vial(stock, knowledge, 999, None, NOW)


def test_inventory_flags_lots_expiring_within_sixty_days_and_shows_beyond_use_time_left(
    knowledge: KnowledgeBase,
) -> None:
    stock = FakeInventory(FakeStockroom())
    receive_lot(stock, lot("FICT-LATE", date(2028, 1, 1)))
    (soon, _) = receive_lot(stock, lot("FICT-SOON", date(2027, 1, 10)))
    receive_lot(stock, lot("FICT-OLD", date(2026, 11, 1)))
    reconstitute_vial(stock, knowledge, soon, Decimal(1), NOW - timedelta(hours=4))
    view = inventory_view(stock, knowledge, NOW)
    assert [(line.lot.lot_number, line.soon, line.expired, line.sealed) for line in view.lots] == [
        ("FICT-OLD", True, True, 2),
        ("FICT-SOON", True, False, 1),
        ("FICT-LATE", False, False, 2),
    ]
    (opened,) = view.open_vials
    assert (opened.brand, opened.remaining_units) == ("BOTOX", Decimal(100))
    assert opened.hours_left is not None
    assert opened.hours_left < 24


def test_a_session_draws_from_open_vials_in_their_time_then_from_unexpired_lots(knowledge: KnowledgeBase) -> None:
    stock = FakeInventory(FakeStockroom())
    (fresh, _) = receive_lot(stock, lot("FICT-A", date(2027, 6, 30)))
    (stale, _) = receive_lot(stock, lot("FICT-B", date(2027, 3, 30)))
    receive_lot(stock, lot("FICT-EXPIRED", date(2026, 1, 1)))
    reconstitute_vial(stock, knowledge, fresh, Decimal(1), NOW - timedelta(hours=1))
    reconstitute_vial(stock, knowledge, stale, Decimal(1), NOW - timedelta(days=30))
    options = vial_options(stock, knowledge, BOTOX, NOW)
    assert [(o.value, o.lot_number, o.sealed_count) for o in options] == [
        (f"vial:{fresh}", "FICT-A", 0),
        ("lot:2", "FICT-B", 1),
        ("lot:1", "FICT-A", 1),
    ]
    assert "open vial" in options[0].label
    assert "new vial (1 sealed)" in options[1].label


def test_a_vial_is_not_reconstituted_with_a_volume_its_label_table_does_not_allow(knowledge: KnowledgeBase) -> None:
    stock = FakeInventory(FakeStockroom())
    (vial_id, _) = receive_lot(stock, lot("FICT-L4", date(2027, 6, 30)))
    for impossible in (Decimal("0.001"), Decimal(30)):
        with pytest.raises(InventoryError, match="outside the label's range") as refused:
            reconstitute_vial(stock, knowledge, vial_id, impossible, NOW)
        assert refused.value.field == "diluent_ml"
    still = stock.vial(vial_id)
    assert still is not None
    assert still.state == "sealed"


def test_a_scanned_lot_means_its_open_vial_holding_enough_else_its_next_sealed_one(knowledge: KnowledgeBase) -> None:
    stock = FakeInventory(FakeStockroom())
    (first, second) = receive_lot(stock, lot("FICT-SCAN", date(2027, 6, 30)))
    reconstitute_vial(stock, knowledge, first, Decimal(1), NOW)
    assert vial_for_lot(stock, BOTOX, "FICT-SCAN", Decimal(50), set(), "lot:1").vial_id == first
    assert vial_for_lot(stock, BOTOX, "FICT-SCAN", Decimal(50), {first}, "lot:1").vial_id == second
    with pytest.raises(FieldError) as none_left:
        vial_for_lot(stock, BOTOX, "FICT-SCAN", Decimal(50), {first, second}, "lot:1")
    assert none_left.value.field == "lot:1"
    with pytest.raises(FieldError, match="no lot of this product"):
        vial_for_lot(stock, BOTOX, "FICT-NONE", Decimal(50), set(), "lot:1")


def test_a_chosen_vial_must_be_the_products_unlisted_and_match_the_scanned_lot() -> None:
    stock = FakeInventory(FakeStockroom())
    (vial_id, _) = receive_lot(stock, lot("FICT-C", date(2027, 6, 30)))
    assert chosen_vial(stock, BOTOX, f"vial:{vial_id}", "", Decimal(10), set(), 1).vial_id == vial_id
    assert chosen_vial(stock, BOTOX, "lot:1", "FICT-C", Decimal(10), {vial_id}, 1).vial_id == vial_id + 1
    for choice, lot_number, taken, field in [
        (f"vial:{vial_id}", "", {vial_id}, "vial:2"),
        ("lot:1", "FICT-OTHER", set(), "lot:2"),
        ("bottle:1", "", set(), "vial:2"),
    ]:
        with pytest.raises(FieldError) as refused:
            chosen_vial(stock, BOTOX, choice, lot_number, Decimal(10), taken, 2)
        assert refused.value.field == field
    with pytest.raises(FieldError, match="not one of this product's"):
        chosen_vial(stock, "abobotulinumtoxinA", f"vial:{vial_id}", "", Decimal(10), set(), 1)


def test_a_recall_lists_each_patient_once_with_every_session_concerned() -> None:
    stockroom = FakeStockroom()
    born = date(1970, 1, 1)
    stockroom.draws += [
        LotDraw(BOTOX, "FICT-R", 7, date(2026, 5, 1), Decimal(50), "FICT-P2", "Two, Fictional", born),
        LotDraw(BOTOX, "FICT-R", 3, date(2026, 3, 1), Decimal(100), "FICT-P1", "One, Fictional", born),
        LotDraw(BOTOX, "FICT-R", 9, date(2026, 6, 1), Decimal(20), "FICT-P1", "One, Fictional", born),
        LotDraw("abobotulinumtoxinA", "FICT-R", 4, date(2026, 4, 1), Decimal(300), "FICT-P3", "Three, F", born),
    ]
    recalled = recall(FakeInventory(stockroom), "FICT-R", BOTOX)
    assert [(p.mrn, [s.session_id for s in p.sessions]) for p in recalled] == [("FICT-P1", [3, 9]), ("FICT-P2", [7])]
    assert len(recall(FakeInventory(stockroom), "FICT-R")) == 3
