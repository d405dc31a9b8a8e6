"""A small ledger recorded at known instants, for the feed and the product history.

Movements get their `created_at` (and `movement_date`) from the clock, so the data is recorded with the
clock pinned (`clock`), through the services, exactly as production records it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from accounts.models import Role, User
from inventory import services
from inventory.models import StockItem, StockLocation, StockMovement, Variant
from inventory.services.rules import Cause
from tests.factories import StockItemFactory, StockLocationFactory, UserFactory, VariantFactory

FEED = "/api/v1/inventory_movements"
T0 = datetime(2025, 1, 10, 10, 0, tzinfo=UTC)


def history_url(variant_id) -> str:
    return f"/api/v1/movements/product/{variant_id}"


def day(n: int, hours: int = 0) -> datetime:
    """T0 plus n days (and hours)."""
    return T0 + timedelta(days=n, hours=hours)


@contextmanager
def clock(moment: datetime) -> Iterator[None]:
    """Everything recorded inside is recorded at `moment`."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@dataclass
class Ledger:
    main: StockLocation
    shop: StockLocation
    bolt: Variant
    nut: Variant
    bolt_main: StockItem
    nut_shop: StockItem
    clerk: User
    receipt_50: StockMovement  # day 0: bolt @ MAIN +50 at 15.00, PurchaseOrder 101 / PO-1
    receipt_30: StockMovement  # day 1: bolt @ MAIN +30 at 20.00, PurchaseOrder 102 / PO-2
    sale: StockMovement  # day 2: bolt @ MAIN -60, SalesOrder 7 / SO-7 / line 70, by the clerk
    nut_receipt: StockMovement  # day 3: nut @ SHOP +5 at 3.00
    transfer_out: StockMovement  # day 4: bolt MAIN -> SHOP 10 (both legs share created_at)
    transfer_in: StockMovement
    nut_damage: StockMovement  # day 5: nut @ SHOP -2 adjusted

    @property
    def all(self) -> list[StockMovement]:
        return [self.receipt_50, self.receipt_30, self.sale, self.nut_receipt, self.transfer_out,
                self.transfer_in, self.nut_damage]

    def newest_first(self) -> list[int]:
        return [m.pk for m in sorted(self.all, key=lambda m: (m.created_at, m.pk), reverse=True)]


@pytest.fixture
def ledger(db) -> Ledger:
    with clock(day(-1)):
        main = StockLocationFactory(name="Main warehouse", code="MAIN")
        shop = StockLocationFactory(name="Downtown store", code="SHOP")
        bolt = VariantFactory(sku="BOLT-1")
        nut = VariantFactory(sku="NUT-1")
        bolt_main = StockItemFactory(stock_location=main, variant=bolt)
        nut_shop = StockItemFactory(stock_location=shop, variant=nut)
        clerk = UserFactory(username="clerk", first_name="Ana", last_name="Silva", role=Role.MANAGER)
    with clock(day(0)):
        receipt_50 = services.receive(bolt_main, 50, value_per_unit="15.00", notes="first batch",
                                      cause=Cause("PurchaseOrder", "101", "PO-1", "1001"))
    with clock(day(1)):
        receipt_30 = services.receive(bolt_main, 30, value_per_unit="20.00",
                                      cause=Cause("PurchaseOrder", "102", "PO-2", "1002"))
    with clock(day(2)):
        sale = services.sell(bolt_main, 60, user=clerk, cause=Cause("SalesOrder", "7", "SO-7", "70"))
    with clock(day(3)):
        nut_receipt = services.receive(nut_shop, 5, value_per_unit="3.00")
    with clock(day(4)):
        record = services.transfer(main, shop, [(bolt, 10)], cause=Cause("StockTransfer", "1", "", ""))
    transfer_out, transfer_in = sorted(record.movements.all(), key=lambda m: m.quantity)
    with clock(day(5)):
        nut_damage = services.adjust(nut_shop, -2, notes="dropped")
    return Ledger(main, shop, bolt, nut, bolt_main, nut_shop, clerk, receipt_50, receipt_30, sale, nut_receipt,
                  transfer_out, transfer_in, nut_damage)


def data_ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["data"]]
