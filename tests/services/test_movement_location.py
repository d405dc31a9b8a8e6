"""Every way of writing a movement stamps it with its item's location (`StockMovement.stock_location`),
which the per-location reads filter on instead of joining the items."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from inventory import services
from inventory.models import Action, StockItem, StockMovement
from inventory.services.allocations import allocate, fulfil
from inventory.services.counts import CountRow, apply_counts
from inventory.services.locking import lock_items
from inventory.services.movements import post_many
from inventory.services.rules import MovementRequest, NewMovement
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_locations():
    """The same variant stocked at two locations, so a wrong location cannot pass by being the only one."""
    a, b = StockLocationFactory(), StockLocationFactory()
    variant = VariantFactory(cost_price=Decimal("2.0000"))
    return (StockItemFactory(stock_location=a, variant=variant, count_on_hand=20),
            StockItemFactory(stock_location=b, variant=variant, count_on_hand=20))


def assert_located(movements) -> list[StockMovement]:
    movements = list(movements.select_related("stock_item"))
    assert movements, "the path wrote no movement"
    assert [m.stock_location_id for m in movements] == [m.stock_item.stock_location_id for m in movements]
    return movements


def new_movements(before: int):
    return StockMovement.objects.filter(pk__gt=before).order_by("pk")


def last_id() -> int:
    return StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_opening_count_of_a_new_item(two_locations):
    a, _ = two_locations
    assert_located(StockMovement.objects.filter(stock_item=a))
    item = services.create_stock_item(StockLocationFactory(), a.variant, count_on_hand=4)
    assert assert_located(item.movements.all())[0].stock_location_id == item.stock_location_id


@pytest.mark.parametrize("write", [
    lambda item: services.receive(item, 3),
    lambda item: services.sell(item, 2),
    lambda item: services.return_items(item, 1),
    lambda item: services.adjust(item, -1),
    lambda item: services.set_count(item, 7),
    lambda item: services.record_movement(MovementRequest(stock_item=item.pk, quantity=5, action=Action.RECEIVED,
                                          movement_date=timezone.now() - timedelta(days=3))),  # backdated: reposts
])
def test_single_movements(two_locations, write):
    for item in two_locations:
        before = last_id()
        write(item)
        assert {m.stock_location_id for m in assert_located(new_movements(before))} == {item.stock_location_id}


def test_post_many_across_locations(two_locations):
    a, b = two_locations
    before = last_id()
    with transaction.atomic():
        locked = lock_items([a.pk, b.pk])
        post_many([NewMovement(locked[a.pk], -2, Action.SOLD), NewMovement(locked[b.pk], 3, Action.RECEIVED),
                   NewMovement(locked[a.pk], 1, Action.ADJUSTED)])
    assert len(assert_located(new_movements(before))) == 3


def test_bulk_count_across_locations(two_locations):
    a, b = two_locations
    before = last_id()
    apply_counts([CountRow(key=0, variant_id=a.variant_id, location_id=a.stock_location_id, counted=11),
                  CountRow(key=1, variant_id=b.variant_id, location_id=b.stock_location_id, counted=25)])
    assert len(assert_located(new_movements(before))) == 2


def test_transfer_legs_carry_their_own_location(two_locations):
    a, b = two_locations
    before = last_id()
    services.transfer(a.stock_location, b.stock_location, [(a.variant_id, 4)])
    legs = {m.action: m.stock_location_id for m in assert_located(new_movements(before))}
    assert legs == {Action.TRANSFERRED_OUT: a.stock_location_id, Action.TRANSFERRED_IN: b.stock_location_id}


def test_transfer_to_a_location_without_the_item_yet(two_locations):
    a, _ = two_locations
    elsewhere = StockLocationFactory()
    before = last_id()
    services.transfer(a.stock_location, elsewhere, [(a.variant_id, 2)])
    created = StockItem.objects.get(stock_location=elsewhere, variant=a.variant)
    legs = assert_located(new_movements(before))
    assert {m.stock_location_id for m in legs if m.action == Action.TRANSFERRED_IN} == {created.stock_location_id}


def test_fulfilled_allocation(two_locations):
    _, b = two_locations
    before = last_id()
    fulfil(allocate(b, 3, reference_type="Order", reference_id="R1"))
    assert [m.stock_location_id for m in assert_located(new_movements(before))] == [b.stock_location_id]


def test_the_column_is_not_null_in_the_schema():
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, StockMovement._meta.db_table)
    assert next(c for c in columns if c.name == "stock_location_id").null_ok is False
