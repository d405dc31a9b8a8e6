"""inventory.services.movements: every function, and every refusal leaves the database untouched."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from inventory import services
from inventory.models import (
    Action,
    CostLayer,
    LayerConsumption,
    MovementAudit,
    StockItem,
    StockMovement,
)
from inventory.services.errors import InsufficientStock, InvalidMovement, MovementLocked
from inventory.services.locking import lock_item
from inventory.services.movements import apply_count_to_locked, post_movement
from inventory.services.rules import MAX_QUANTITY, MovementRequest, NewMovement
from tests.factories import StockItemFactory, StockLocationFactory, UserFactory, VariantFactory
from tests.services.invariants import assert_invariants

pytestmark = pytest.mark.django_db


def state() -> tuple:
    """Row counts and cached figures of every stock table: must not move when a service refuses."""
    return (
        StockMovement.objects.count(),
        CostLayer.objects.count(),
        LayerConsumption.objects.count(),
        MovementAudit.objects.count(),
        list(StockItem.objects.order_by("pk").values_list("pk", "count_on_hand", "value_in_stock", "average_cost",
                                                         "last_counted_at")),
        list(StockMovement.objects.order_by("pk").values_list("pk", "quantity", "movement_date", "figures__rank",
                                                             "figures__balance_after",
                                                             "figures__value_in_stock_after")),
    )


@pytest.fixture
def item():
    return StockItemFactory(count_on_hand=10, value_per_unit="2.00")


# --- recording ------------------------------------------------------------------------------------

def test_receive_writes_a_movement_and_updates_the_item(item):
    user = UserFactory()
    cause = services.Cause(resource_type="PurchaseOrder", resource_id=7, caused_by_order_no="PO-7")
    movement = services.receive(item, 5, value_per_unit="3.00", user=user, notes="dock 2", cause=cause)
    assert (movement.quantity, movement.action, movement.balance_after, movement.rank) == (5, Action.RECEIVED, 15, 2)
    assert (movement.value_per_unit, movement.total_cost) == (Decimal("3.0000"), Decimal("15.00"))
    assert movement.created_by == user and movement.notes == "dock 2"
    assert (movement.resource_type, movement.resource_id, movement.caused_by_order_no) == ("PurchaseOrder", "7",
                                                                                           "PO-7")
    assert assert_invariants(item).count_on_hand == 15


def test_receive_defaults_unit_cost_to_the_variant_cost_price_then_the_average():
    item = StockItemFactory(variant=VariantFactory(cost_price=Decimal("4.50")))
    assert services.receive(item, 2).value_per_unit == Decimal("4.5000")
    plain = StockItemFactory(count_on_hand=4, value_per_unit="6.00")
    assert services.receive(plain, 2).value_per_unit == Decimal("6.0000")


def test_sell_ship_return_adjust_signs(item):
    assert services.sell(item, 3).quantity == -3
    assert services.ship(item, 1).action == Action.SOLD
    assert services.return_items(item, 2).quantity == 2
    assert services.adjust(item, -4).quantity == -4
    assert services.adjust(item, 1).action == Action.ADJUSTED
    assert assert_invariants(item).count_on_hand == 5


def test_record_movement_takes_an_item_id(item):
    movement = services.record_movement(MovementRequest(stock_item=item.pk, quantity=-2, action=Action.ADJUSTED))
    assert movement.stock_item_id == item.pk
    assert assert_invariants(item).count_on_hand == 8


def record(stock_item, quantity, action):
    return services.record_movement(MovementRequest(stock_item=stock_item, quantity=quantity, action=action))


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda i: record(i, 0, Action.ADJUSTED), "quantity"),
        (lambda i: record(i, 5, Action.SOLD), "quantity"),
        (lambda i: record(i, -5, Action.RECEIVED), "quantity"),
        (lambda i: record(i, -5, Action.RETURNED), "quantity"),
        (lambda i: record(i, 5, "stolen"), "action"),
        (lambda i: record(i, 5, Action.TRANSFERRED_IN), "action"),
        (lambda i: record(i, -5, Action.TRANSFERRED_OUT), "action"),
        (lambda i: record(i, 1.5, Action.ADJUSTED), "quantity"),
        (lambda i: record(i, "3", Action.ADJUSTED), "quantity"),
        (lambda i: record(i, True, Action.ADJUSTED), "quantity"),
        (lambda i: services.sell(i, 0), "quantity"),
        (lambda i: services.sell(i, -2), "quantity"),
        (lambda i: services.receive(i, MAX_QUANTITY + 1), "quantity"),
        (lambda i: services.adjust(i, -(MAX_QUANTITY + 1)), "quantity"),
        (lambda i: services.receive(i, 1, value_per_unit="-1"), "value_per_unit"),
        (lambda i: services.receive(i, 1, value_per_unit="abc"), "value_per_unit"),
        (lambda i: services.receive(i, 1, value_per_unit="NaN"), "value_per_unit"),
        (lambda i: services.receive(i, 1, value_per_unit="Infinity"), "value_per_unit"),
        (lambda i: services.receive(i, 1, value_per_unit="10000000000"), "value_per_unit"),
        (lambda i: services.receive(i, 1, movement_date=timezone.now() + timedelta(days=1)), "movement_date"),
        (lambda i: services.receive(i, 1, movement_date=datetime(2024, 1, 1)), "movement_date"),  # noqa: DTZ001
    ],
)
def test_malformed_movements_are_refused_and_nothing_is_written(item, call, field):
    before = state()
    with pytest.raises(InvalidMovement) as refused:
        call(item)
    assert refused.value.field == field
    assert refused.value.as_errors() == {field: [refused.value.message]}
    assert state() == before


def test_huge_values_are_refused_not_overflowed(item):
    """1e9 units at the largest unit cost would overflow DECIMAL(16, 2) (a DataError on PostgreSQL)."""
    before = state()
    with pytest.raises(InvalidMovement):
        services.receive(item, MAX_QUANTITY, value_per_unit="9999999999.9999")
    assert state() == before


def test_balance_out_of_range_is_refused(item):
    services.receive(item, MAX_QUANTITY, value_per_unit="0.01")
    services.receive(item, MAX_QUANTITY - 10, value_per_unit="0.01")
    before = state()
    with pytest.raises(InvalidMovement):
        services.receive(item, 1, value_per_unit="0.01")
    assert state() == before


def test_non_backorderable_item_never_goes_below_zero(item):
    before = state()
    with pytest.raises(InsufficientStock) as refused:
        services.sell(item, 11)
    assert refused.value.field == "quantity" and item.variant.sku in refused.value.message
    with pytest.raises(InsufficientStock):
        services.adjust(item, -11)
    assert state() == before
    services.sell(item, 10)
    assert assert_invariants(item).count_on_hand == 0


def test_backorderable_item_may_go_below_zero():
    item = StockItemFactory(backorderable=True, count_on_hand=2, value_per_unit="1.00")
    services.sell(item, 5)
    assert assert_invariants(item).count_on_hand == -3


def test_an_unknown_item_is_an_error():
    with pytest.raises(StockItem.DoesNotExist):
        services.receive(987654, 1)


def test_movement_date_defaults_to_now_and_never_before_the_newest(item):
    newest = StockMovement.objects.get(stock_item=item)
    assert abs(newest.movement_date - timezone.now()) < timedelta(minutes=1)
    later = services.receive(item, 1)
    assert later.movement_date >= newest.movement_date and later.rank == 2


def test_a_slightly_future_date_within_clock_skew_is_accepted(item):
    movement = services.receive(item, 1, movement_date=timezone.now() + timedelta(minutes=1))
    assert movement.rank == 2


# --- backdating -----------------------------------------------------------------------------------

def test_backdated_movement_is_ranked_by_date_and_later_figures_reposted():
    item = StockItemFactory()
    now = timezone.now()
    first = services.receive(item, 10, value_per_unit="1.00", movement_date=now - timedelta(days=3))
    sale = services.sell(item, 5, movement_date=now - timedelta(days=1))
    early = services.receive(item, 4, value_per_unit="5.00", movement_date=now - timedelta(days=2))
    ranks = dict(StockMovement.objects.filter(stock_item=item).values_list("pk", "figures__rank"))
    assert ranks == {first.pk: 1, early.pk: 2, sale.pk: 3}
    sale.refresh_from_db()
    assert (sale.balance_after, sale.total_cost) == (9, Decimal("5.00"))
    assert_invariants(item)


def test_backdating_that_would_take_stock_negative_in_the_past_is_refused():
    item = StockItemFactory()
    now = timezone.now()
    services.receive(item, 5, movement_date=now - timedelta(days=3))
    services.sell(item, 5, movement_date=now - timedelta(days=1))
    services.receive(item, 5)
    before = state()
    # Stock is 5 today, but on day -1 the sale already took everything that was there.
    with pytest.raises(InsufficientStock):
        services.sell(item, 1, movement_date=now - timedelta(days=2))
    assert state() == before


# --- counts ---------------------------------------------------------------------------------------

def test_set_count_writes_the_difference_and_stamps_last_counted_at(item):
    user = UserFactory()
    movement = services.set_count(item, 7, user=user, notes="cycle count")
    assert (movement.action, movement.quantity, movement.balance_after) == (Action.COUNTED, -3, 7)
    assert movement.created_by == user and movement.notes == "cycle count"
    item = assert_invariants(item)
    assert item.last_counted_at is not None

    up = services.set_count(item, 12)
    assert up.quantity == 5
    assert assert_invariants(item).count_on_hand == 12


def test_set_count_when_equal_writes_no_movement_but_stamps(item):
    movements = StockMovement.objects.count()
    assert services.set_count(item, 10) is None
    assert StockMovement.objects.count() == movements
    item.refresh_from_db()
    assert item.last_counted_at is not None


def test_counted_movement_through_record_movement_stamps_last_counted_at(item):
    services.record_movement(MovementRequest(stock_item=item, quantity=-1, action=Action.COUNTED))
    item.refresh_from_db()
    assert item.last_counted_at is not None


@pytest.mark.parametrize("counted", [-1, 1.5, "7", None, True, MAX_QUANTITY + 1])
def test_set_count_refuses_bad_counts(item, counted):
    before = state()
    with pytest.raises(InvalidMovement) as refused:
        services.set_count(item, counted)
    assert refused.value.field == "count_on_hand"
    assert state() == before


def test_set_count_on_a_backorderable_item_below_zero_brings_it_back():
    item = StockItemFactory(backorderable=True)
    services.sell(item, 4)
    movement = services.set_count(item, 0)
    assert movement.quantity == 4
    assert_invariants(item)


def test_apply_count_to_locked_and_post_movement_work_under_a_callers_lock(item):
    with transaction.atomic():
        locked = lock_item(item.pk)
        assert apply_count_to_locked(locked, 4).quantity == -6
        post_movement(NewMovement(locked, 2, Action.ADJUSTED, notes="found"))
    assert assert_invariants(item).count_on_hand == 6


def test_post_movement_refuses_lots_without_a_source_movement(item):
    before = state()
    with transaction.atomic(), pytest.raises(InvalidMovement):
        post_movement(NewMovement(lock_item(item.pk), 2, Action.RECEIVED, lots=[(2, Decimal("1"))]))
    assert state() == before


# --- editing and deleting -------------------------------------------------------------------------

def test_update_movement_reposts_and_audits_who_before_and_after(item):
    admin = UserFactory(role="admin")
    sale = services.sell(item, 4)
    updated = services.update_movement(sale, user=admin, quantity=-6, notes="miscounted",
                                       cause=services.Cause(caused_by_order_no="R100"))
    assert (updated.quantity, updated.balance_after, updated.notes) == (-6, 4, "miscounted")
    assert updated.caused_by_order_no == "R100"
    assert_invariants(item)

    audit = MovementAudit.objects.get()
    assert (audit.operation, audit.user, audit.movement, audit.movement_ref, audit.stock_item_id) == (
        MovementAudit.Operation.UPDATE, admin, updated, sale.pk, item.pk)
    assert audit.at is not None
    assert (audit.before["quantity"], audit.before["balance_after"], audit.before["notes"]) == (-4, 6, "")
    assert (audit.after["quantity"], audit.after["balance_after"], audit.after["notes"]) == (-6, 4, "miscounted")


def test_update_movement_date_moves_it_in_the_ledger():
    item = StockItemFactory()
    now = timezone.now()
    a = services.receive(item, 10, value_per_unit="1.00", movement_date=now - timedelta(days=3))
    b = services.receive(item, 10, value_per_unit="3.00", movement_date=now - timedelta(days=2))
    sale = services.sell(item, 10, movement_date=now - timedelta(days=1))
    sale.refresh_from_db()
    assert sale.total_cost == Decimal("10.00")
    services.update_movement(a, movement_date=now - timedelta(hours=1))
    ranks = dict(StockMovement.objects.filter(stock_item=item).values_list("pk", "figures__rank"))
    assert ranks == {b.pk: 1, sale.pk: 2, a.pk: 3}
    sale.refresh_from_db()
    assert sale.total_cost == Decimal("30.00")  # now the sale draws the 3.00 batch
    assert_invariants(item)


def test_update_inbound_unit_cost_revalues_later_sales(item):
    receipt = StockMovement.objects.get(stock_item=item)
    sale = services.sell(item, 4)
    services.update_movement(receipt, value_per_unit="5.00")
    sale.refresh_from_db()
    assert sale.total_cost == Decimal("20.00")
    assert assert_invariants(item).value_in_stock == Decimal("30.00")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"quantity": 0}, InvalidMovement),
        ({"quantity": 3}, InvalidMovement),  # a sale must stay negative
        ({"quantity": -11}, InsufficientStock),
        ({"movement_date": datetime(2024, 1, 1)}, InvalidMovement),  # noqa: DTZ001
        ({"movement_date": timezone.now() + timedelta(days=2)}, InvalidMovement),
        ({"value_per_unit": "2.00"}, InvalidMovement),  # outbound cost comes from stock
    ],
)
def test_bad_updates_are_refused_and_nothing_is_written(item, changes, error):
    sale = services.sell(item, 4)
    before = state()
    with pytest.raises(error):
        services.update_movement(sale, **changes)
    assert state() == before


def test_update_that_would_take_an_earlier_point_negative_is_refused(item):
    receipt = StockMovement.objects.get(stock_item=item)
    services.sell(item, 8)
    before = state()
    with pytest.raises(InsufficientStock):
        services.update_movement(receipt, quantity=5)
    assert state() == before


def test_delete_movement_reposts_and_audits(item):
    admin = UserFactory(role="admin")
    extra = services.receive(item, 5, value_per_unit="4.00")
    sale = services.sell(item, 8)
    services.delete_movement(extra.pk, user=admin)
    assert not StockMovement.objects.filter(pk=extra.pk).exists()
    audit = MovementAudit.objects.get()
    assert (audit.operation, audit.user, audit.movement, audit.movement_ref, audit.after) == (
        MovementAudit.Operation.DELETE, admin, None, extra.pk, None)
    assert audit.before["quantity"] == 5 and audit.before["value_per_unit"] == "4.0000"
    sale.refresh_from_db()
    assert (sale.rank, sale.balance_after, sale.total_cost) == (2, 2, Decimal("16.00"))
    assert assert_invariants(item).value_in_stock == Decimal("4.00")


def test_delete_that_would_take_stock_negative_is_refused(item):
    extra = services.receive(item, 5, value_per_unit="4.00")
    services.sell(item, 12)
    before = state()
    with pytest.raises(InsufficientStock):
        services.delete_movement(extra)
    assert state() == before


def test_update_then_delete_keeps_the_audit_trail(item):
    sale = services.sell(item, 2)
    services.update_movement(sale, quantity=-3)
    services.delete_movement(sale)
    audits = list(MovementAudit.objects.order_by("id"))
    assert [a.operation for a in audits] == ["update", "delete"]
    assert all(a.movement_ref == sale.pk and a.movement is None for a in audits)
    assert assert_invariants(item).count_on_hand == 10


def test_transfer_legs_cannot_be_edited_or_deleted_alone():
    source, destination = StockLocationFactory(), StockLocationFactory()
    variant = VariantFactory()
    StockItemFactory(stock_location=source, variant=variant, count_on_hand=5)
    record = services.transfer(source, destination, [(variant, 2)])
    before = state()
    for leg in record.movements.all():
        with pytest.raises(MovementLocked):
            services.update_movement(leg, notes="x")
        with pytest.raises(MovementLocked):
            services.delete_movement(leg)
    assert state() == before


def test_fulfilled_allocation_movement_is_locked():
    from inventory.services import allocations

    item = StockItemFactory(count_on_hand=5)
    allocation = allocations.allocate(item, 2)
    allocations.fulfil(allocation)
    allocation.refresh_from_db()
    movement = allocation.fulfilment_movement
    before = state()
    with pytest.raises(MovementLocked):
        services.update_movement(movement, notes="x")
    with pytest.raises(MovementLocked):
        services.delete_movement(movement)
    assert state() == before
