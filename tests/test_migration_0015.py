"""Migration 0015 fills each stock item's movement total from its movement counters."""

from __future__ import annotations

import pytest

from inventory.models import StockItem
from tests.test_migrations import migrating

pytestmark = pytest.mark.django_db(transaction=True)


def test_0015_sums_the_counters_of_each_item():
    with migrating("0014_open_layers_function", "0015_stock_item_movement_total") as apps:
        location = apps.get_model("inventory", "StockLocation").objects.create(name="Main", code="MAIN")
        product = apps.get_model("inventory", "Product").objects.create(name="Tote", slug="tote")
        variant = apps.get_model("inventory", "Variant")
        item = apps.get_model("inventory", "StockItem")
        counted = item.objects.create(stock_location=location, variant=variant.objects.create(product=product,
                                      sku="A"), movement_counts={"received": 3, "sold": 40, "counted": 1})
        empty = item.objects.create(stock_location=location, variant=variant.objects.create(product=product, sku="B"))
    totals = dict(StockItem.objects.values_list("pk", "movement_total"))
    assert totals == {counted.pk: 44, empty.pk: 0}
