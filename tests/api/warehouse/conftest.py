"""Fixed data for the warehouse family: two warehouses and a few stocked products."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory import services
from inventory.models import Allocation, StockItem, StockLocation, StockMovement, Variant
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory

BASE = "/api/v1/inventory"


@dataclass
class Stock:
    main: StockLocation
    shop: StockLocation
    bolt: Variant
    nut: Variant
    gear: Variant
    bolt_main: StockItem
    nut_main: StockItem
    gear_main: StockItem
    bolt_shop: StockItem


OPENING_AGE = timedelta(days=100)


def opened(location, variant, quantity=0, cost=None, **fields) -> StockItem:
    """A stock item whose opening stock was received OPENING_AGE ago (outside every analytics period but 1y)."""
    item = StockItemFactory(stock_location=location, variant=variant, **fields)
    if quantity:
        services.receive(item, quantity, value_per_unit=cost, movement_date=timezone.now() - OPENING_AGE)
        item.refresh_from_db()
    return item


@pytest.fixture
def stock(db) -> Stock:
    """MAIN: bolt 50 @ 2.00 (reorder 10), nut 5 @ 0.50 (reorder 10, so low), gear 0 (reorder 0, out).
    SHOP: bolt 8 @ 2.00 (reorder 2). Opening receipts are dated 100 days ago."""
    main = StockLocationFactory(code="MAIN", name="Main warehouse")
    shop = StockLocationFactory(code="SHOP", name="Downtown store")
    bolt = VariantFactory(sku="BOLT-1", product__name="Bolt")
    nut = VariantFactory(sku="NUT-1", product__name="Nut")
    gear = VariantFactory(sku="GEAR-1", product__name="Gear")
    bolt_main = opened(main, bolt, 50, "2.00", reorder_point=10, max_stock_level=100)
    nut_main = opened(main, nut, 5, "0.50", reorder_point=10)
    gear_main = opened(main, gear)
    bolt_shop = opened(shop, bolt, 8, "2.00", reorder_point=2)
    return Stock(main, shop, bolt, nut, gear, bolt_main, nut_main, gear_main, bolt_shop)


def ledger_counts() -> tuple[int, int, int, list[tuple[int, int, int]]]:
    """Movements, allocations, stock items, and every item's (id, on hand, allocated): to prove nothing changed."""
    items = list(StockItem.objects.order_by("pk").values_list("pk", "count_on_hand", "quantity_allocated"))
    return StockMovement.objects.count(), Allocation.objects.count(), StockItem.objects.count(), items


def assert_error(response, status: int, *fields: str) -> dict:
    """The family's envelope: {"error": str, "details": {...}} with the status, naming each field."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error", "details"}, body
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["details"], dict)
    for field in fields:
        assert field in body["details"], (field, body)
    return body


__all__ = ["BASE", "Stock", "assert_error", "ledger_counts", "services"]
