"""Migration 0015 fills each stock item's movement total from its movement counters."""

from __future__ import annotations

import pytest

from inventory.models import StockItem
from tests.test_migrations import item_maker, migrating

pytestmark = pytest.mark.django_db(transaction=True)


def test_0015_sums_the_counters_of_each_item():
    with migrating("0014_open_layers_function", "0015_stock_item_movement_total") as apps:
        make = item_maker(apps)
        counted = make("A", movement_counts={"received": 3, "sold": 40, "counted": 1})
        empty = make("B")
    totals = dict(StockItem.objects.values_list("pk", "movement_total"))
    assert totals == {counted.pk: 44, empty.pk: 0}
