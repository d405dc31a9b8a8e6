"""The Spree output serializers render their rows with a written-out `to_representation` (DRF's
field-by-field walk was a third of a page's Python time). Their declared fields remain the schema and
the reference: for every kind of row, the written-out dict must be exactly, key order included, what
DRF's own walk over those fields renders."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework import serializers

from inventory import services
from inventory.api.spree import serializers as s
from inventory.models import StockItem, StockMovement, Variant
from inventory.services import catalog_edits
from tests.factories import ProductFactory, StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


def drf_walk(serializer: serializers.Serializer, instance) -> dict:
    return serializers.Serializer.to_representation(serializer, instance)


@pytest.fixture
def rows():
    """Variants, items and movements covering what changes a rendered value: empty and set dimensions and
    costs, untracked and deleted variants, backorderable items, counted and never counted items, no
    stock, stock at several locations."""
    main, shop = StockLocationFactory(), StockLocationFactory()
    tote = VariantFactory(product=ProductFactory(name="Tote", description="A bag"), sku="ROR-1",
                          price=Decimal("1234.5"), weight=Decimal("1.50"), cost_price=Decimal("9.1250"),
                          is_master=True)
    mug = VariantFactory(product=ProductFactory(name="Mug", description=""), sku="MUG-1", price=Decimal("0"),
                         track_inventory=False, options_text="Size: L")
    gone = VariantFactory(sku="OLD-1", height=Decimal("3"), width=Decimal("0.125"), depth=Decimal("10"))
    items = [
        StockItemFactory(stock_location=main, variant=tote, count_on_hand=20, value_per_unit="9.50"),
        StockItemFactory(stock_location=shop, variant=tote, backorderable=True),
        StockItemFactory(stock_location=main, variant=mug),
        StockItemFactory(stock_location=main, variant=gone, count_on_hand=3),
    ]
    services.sell(items[0], 2)
    services.sell(items[1], 4)  # backordered: below zero
    services.receive(items[2], 1)
    services.set_count(items[3], 0)
    StockItem.objects.filter(pk=items[0].pk).update(max_stock_level=50, reorder_point=5)
    catalog_edits.soft_delete_variant(Variant.objects.get(pk=gone.pk))
    movements = list(StockMovement.objects.select_related("stock_item__variant__product").order_by("pk"))
    return movements, [m.stock_item for m in movements]


def test_a_variant_renders_as_drfs_walk_over_its_fields(rows):
    movements, items = rows
    serializer = s.SpreeVariantSerializer()
    variants = [item.variant for item in items]
    s.attach_stock_totals(variants)
    for variant in variants:
        assert list(serializer.to_representation(variant).items()) == list(drf_walk(serializer, variant).items())
    assert {v.deleted_at is None for v in variants} == {True, False}
    assert {v.track_inventory for v in variants} == {True, False}


@pytest.mark.parametrize("serializer_class", [s.SpreeStockItemSerializer, s.SpreeStockItemDetailSerializer])
def test_a_stock_item_renders_as_drfs_walk_over_its_fields(rows, serializer_class):
    _, items = rows
    items = list(StockItem.objects.select_related("variant__product").filter(pk__in=[i.pk for i in items]))
    s.attach_stock_totals([item.variant for item in items])
    serializer = serializer_class()
    for item in items:
        assert list(serializer.to_representation(item).items()) == list(drf_walk(serializer, item).items())
    assert {item.last_counted_at is None for item in items} == {True, False}
    assert {item.max_stock_level is None for item in items} == {True, False}


def test_a_movement_renders_as_drfs_walk_over_its_fields(rows):
    movements, _ = rows
    s.attach_stock_totals([m.stock_item.variant for m in movements])
    serializer = s.SpreeStockMovementSerializer()
    for movement in movements:
        assert list(serializer.to_representation(movement).items()) == list(drf_walk(serializer, movement).items())
    assert len({m.action for m in movements}) >= 3
