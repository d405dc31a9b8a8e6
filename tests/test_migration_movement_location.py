"""Migration 0004 back-fills StockMovement.stock_location from each movement's item on an existing ledger."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from inventory.models import StockMovement

BEFORE = [("inventory", "0003_movement_item_created_index")]
AFTER = [("inventory", "0004_movement_stock_location")]


@pytest.mark.django_db(transaction=True)
def test_0004_sets_every_movements_location_to_its_items():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        apps = executor.loader.project_state(BEFORE).apps
        location = apps.get_model("inventory", "StockLocation")
        product = apps.get_model("inventory", "Product").objects.create(name="Tote", slug="tote")
        variant = apps.get_model("inventory", "Variant").objects.create(product=product, sku="ROR-1")
        item_model, movement_model = apps.get_model("inventory", "StockItem"), apps.get_model("inventory",
                                                                                               "StockMovement")
        items = [item_model.objects.create(stock_location=location.objects.create(name=code, code=code),
                                           variant=variant) for code in ("A", "B", "C")]
        for n, item in enumerate(items * 3):
            movement_model.objects.create(stock_item=item, quantity=n + 1, action="received",
                                          movement_date=timezone.now())

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    rows = list(StockMovement.objects.values_list("stock_location_id", "stock_item__stock_location_id"))
    assert len(rows) == 9
    assert all(own == of_item for own, of_item in rows)
    assert {own for own, _ in rows} == {item.stock_location_id for item in items}
