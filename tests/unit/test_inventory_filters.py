"""The inventory page's lot filters on the in-memory inventory: in stock, unexpired, product and part of a lot
number (bont.services.inventory.inventory_view)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bont.domain.knowledge import KnowledgeBase
from bont.services.inventory import LotFilter, NewLot, StockLot, inventory_view, receive_lot, reconstitute_vial
from tests.fakes import FakeInventory, FakeStockroom

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
BOTOX, XEOMIN = "onabotulinumtoxinA", "incobotulinumtoxinA"


@pytest.fixture
def stock(knowledge: KnowledgeBase) -> FakeInventory:
    stock = FakeInventory(FakeStockroom())
    for number, expiry, product in [
        ("FICT-OLD-1", date(2025, 3, 1), BOTOX),
        ("FICT-TODAY", date(2026, 11, 29), BOTOX),
        ("FICT-NEW-2", date(2027, 6, 30), BOTOX),
        ("FICT-X-3", date(2027, 8, 31), XEOMIN),
    ]:
        receive_lot(stock, NewLot(product, number, expiry, Decimal(100), 1, date(2025, 1, 1)))
    (opened,) = [v.vial_id for v in stock.stockroom.vials.values() if v.lot_number == "FICT-NEW-2"]
    reconstitute_vial(stock, knowledge, opened, Decimal(2), NOW)  # its only vial is open: none sealed left
    return stock


def numbers(
    stock: FakeInventory,
    knowledge: KnowledgeBase,
    *,
    product: str | None = None,
    in_stock: bool = False,
    unexpired: bool = False,
    lot_number: str = "",
) -> list[str]:
    view = inventory_view(
        stock, knowledge, NOW, product=product, in_stock=in_stock, unexpired=unexpired, lot_number=lot_number
    )
    return [line.lot.lot_number for line in view.lots]


def test_unexpired_hides_lots_expired_before_today_and_keeps_one_expiring_today(
    stock: FakeInventory, knowledge: KnowledgeBase
) -> None:
    assert numbers(stock, knowledge, unexpired=True) == ["FICT-TODAY", "FICT-NEW-2", "FICT-X-3"]
    assert numbers(stock, knowledge) == ["FICT-OLD-1", "FICT-TODAY", "FICT-NEW-2", "FICT-X-3"]


def test_in_stock_hides_a_lot_with_no_sealed_vial_left(stock: FakeInventory, knowledge: KnowledgeBase) -> None:
    assert "FICT-NEW-2" not in numbers(stock, knowledge, in_stock=True)


def test_the_product_filter_keeps_its_lots_and_its_open_vials(stock: FakeInventory, knowledge: KnowledgeBase) -> None:
    assert numbers(stock, knowledge, product=XEOMIN) == ["FICT-X-3"]
    assert inventory_view(stock, knowledge, NOW, product=XEOMIN).open_vials == ()


def test_a_lot_is_found_by_part_of_its_number_in_any_case(stock: FakeInventory, knowledge: KnowledgeBase) -> None:
    assert numbers(stock, knowledge, lot_number=" new-2 ") == ["FICT-NEW-2"]
    assert numbers(stock, knowledge, lot_number="nothing-like-it") == []


def test_the_filter_keeps_a_lot_only_when_every_condition_holds() -> None:
    lot = StockLot(1, BOTOX, "FICT-A1", date(2027, 1, 1), Decimal(100), vials=2, sealed=0)
    assert LotFilter().keeps(lot)
    assert not LotFilter(in_stock=True).keeps(lot)
    assert not LotFilter(unexpired_on=date(2027, 1, 2)).keeps(lot)
    assert LotFilter(unexpired_on=date(2027, 1, 1), lot_number="a1").keeps(lot)
