"""Data migrations back-fill what they add from the existing ledger: run each from the migration before
it on rows made with that state's models, then check the rows with today's."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from inventory.models import StockItem, StockMovement

pytestmark = pytest.mark.django_db(transaction=True)


@contextlib.contextmanager
def migrating(before: str, after: str) -> Iterator:
    """Yield the app registry of inventory migration `before`, for the test to create rows with; then
    migrate to `after`, and at the end back to the latest migration whatever happened."""
    executor = MigrationExecutor(connection)
    executor.migrate([("inventory", before)])
    try:
        yield executor.loader.project_state([("inventory", before)]).apps
        MigrationExecutor(connection).migrate([("inventory", after)])
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def item_maker(apps):
    """A function making stock items of new variants (`sku`, then the item's own fields) at one location, with
    the models of the app registry `apps`."""
    location = apps.get_model("inventory", "StockLocation").objects.create(name="Main", code="MAIN")
    product = apps.get_model("inventory", "Product").objects.create(name="Tote", slug="tote")
    variants, items = apps.get_model("inventory", "Variant").objects, apps.get_model("inventory", "StockItem").objects

    def make(sku: str, **fields):
        return items.create(stock_location=location, variant=variants.create(product=product, sku=sku), **fields)

    return make


def test_0004_sets_every_movements_location_to_its_items():
    with migrating("0003_movement_item_created_index", "0004_movement_stock_location") as apps:
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

    rows = list(StockMovement.objects.values_list("stock_location_id", "stock_item__stock_location_id"))
    assert len(rows) == 9
    assert all(own == of_item for own, of_item in rows)
    assert {own for own, _ in rows} == {item.stock_location_id for item in items}


def test_0005_counts_each_items_movements_by_action():
    with migrating("0004_movement_stock_location", "0005_stock_item_movement_counts") as apps:
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

    counts = dict(StockItem.objects.filter(pk__in=[i.pk for i in items]).values_list("pk", "movement_counts"))
    assert counts == {items[0].pk: {"received": 1, "sold": 2, "counted": 1}, items[1].pk: {"received": 1},
                      items[2].pk: {}}
