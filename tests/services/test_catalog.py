"""inventory.services.catalog: products, variants, locations, stock items and propagation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory import services
from inventory.models import Product, StockItem, StockMovement, Variant
from inventory.services.catalog import ensure_stock_items
from inventory.services.errors import InvalidMovement
from tests.factories import ProductFactory, StockLocationFactory, VariantFactory
from tests.services.invariants import assert_invariants

pytestmark = pytest.mark.django_db


def test_create_product_makes_its_master_variant():
    product = services.create_product(name="Mug", slug="mug", sku="MUG-1", price=Decimal("9.50"),
                                      cost_price=Decimal("3.00"))
    master = product.variants.get()
    assert (master.sku, master.is_master, master.price, master.cost_price) == ("MUG-1", True, Decimal("9.50"),
                                                                               Decimal("3.00"))


def test_location_with_propagate_all_variants_gets_items_for_every_variant():
    variants = [VariantFactory() for _ in range(3)]
    location = services.create_stock_location(name="Hub", code="HUB", propagate_all_variants=True,
                                              backorderable_default=True)
    items = StockItem.objects.filter(stock_location=location)
    assert sorted(items.values_list("variant_id", flat=True)) == sorted(v.pk for v in variants)
    assert all(i.backorderable and i.count_on_hand == 0 for i in items)
    assert not StockMovement.objects.exists()


def test_location_without_propagation_gets_no_items():
    VariantFactory()
    location = services.create_stock_location(name="Shop", code="SHOP", propagate_all_variants=False)
    assert not StockItem.objects.filter(stock_location=location).exists()


def test_new_variant_gets_items_at_propagating_locations_only():
    hub = services.create_stock_location(name="Hub", code="HUB", propagate_all_variants=True)
    shop = services.create_stock_location(name="Shop", code="SHOP", propagate_all_variants=False,
                                          backorderable_default=True)
    variant = services.create_variant(ProductFactory(), sku="NEW-1", price=1)
    assert list(variant.stock_items.values_list("stock_location_id", flat=True)) == [hub.pk]
    assert not StockItem.objects.filter(stock_location=shop).exists()


def test_duplicate_sku_writes_nothing():
    services.create_stock_location(name="Hub", code="HUB", propagate_all_variants=True)
    services.create_product(name="A", slug="a", sku="DUP")
    before = (Product.objects.count(), Variant.objects.count(), StockItem.objects.count())
    with pytest.raises(Exception):  # noqa: B017 - the database's unique constraint
        services.create_product(name="B", slug="b", sku="DUP")
    assert (Product.objects.count(), Variant.objects.count(), StockItem.objects.count()) == before


def test_create_stock_item_records_an_opening_count_as_a_movement():
    location, variant = StockLocationFactory(backorderable_default=True), VariantFactory(cost_price=Decimal("2"))
    item = services.create_stock_item(location, variant, count_on_hand=7, reorder_point=3)
    movement = StockMovement.objects.get(stock_item=item)
    assert (movement.action, movement.quantity, movement.notes) == ("received", 7, "Opening count")
    assert item.backorderable and item.reorder_point == 3
    assert assert_invariants(item).value_in_stock == Decimal("14.00")


def test_create_stock_item_refusals_write_nothing():
    location, variant = StockLocationFactory(), VariantFactory()
    with pytest.raises(InvalidMovement) as refused:
        services.create_stock_item(location, variant, count_on_hand=-1)
    assert refused.value.field == "count_on_hand"
    assert not StockItem.objects.exists()
    services.create_stock_item(location, variant)
    with pytest.raises(InvalidMovement):
        services.create_stock_item(location, variant)
    assert StockItem.objects.count() == 1


def test_ensure_stock_items_creates_only_when_asked():
    location = StockLocationFactory(code="EN")
    variant = VariantFactory()
    with pytest.raises(InvalidMovement, match="no stock at EN"):
        ensure_stock_items(location, [variant.pk], create=False)
    with pytest.raises(InvalidMovement, match="does not exist"):
        ensure_stock_items(location, [987654], create=True)
    items = ensure_stock_items(location, [variant.pk], create=True)
    assert list(items) == [variant.pk]
    assert ensure_stock_items(location, [variant.pk], create=False)[variant.pk] == items[variant.pk]
