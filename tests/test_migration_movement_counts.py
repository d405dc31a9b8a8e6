"""Migration 0005 back-fills StockItem.movement_counts from each item's ledger."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from inventory.models import StockItem

BEFORE = [("inventory", "0004_movement_stock_location")]
AFTER = [("inventory", "0005_stock_item_movement_counts")]


@pytest.mark.django_db(transaction=True)
def test_0005_counts_each_items_movements_by_action():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        apps = executor.loader.project_state(BEFORE).apps
        location = apps.get_model("inventory", "StockLocation").objects.create(name="A", code="A")
        product = apps.get_model("inventory", "Product").objects.create(name="Tote", slug="tote")
        item_model, movement_model = apps.get_model("inventory", "StockItem"), apps.get_model("inventory",
                                                                                               "StockMovement")
        items = [item_model.objects.create(stock_location=location, variant=apps.get_model(
            "inventory", "Variant").objects.create(product=product, sku=f"ROR-{n}")) for n in range(3)]
        history = {0: ["received", "sold", "sold", "counted"], 1: ["received"], 2: []}
        for n, actions in history.items():
            for action in actions:
                movement_model.objects.create(stock_item=items[n], stock_location=location, action=action,
                                              quantity=1 if action != "sold" else -1, movement_date=timezone.now())

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    counts = dict(StockItem.objects.filter(pk__in=[i.pk for i in items]).values_list("pk", "movement_counts"))
    assert counts == {items[0].pk: {"received": 1, "sold": 2, "counted": 1}, items[1].pk: {"received": 1},
                      items[2].pk: {}}
