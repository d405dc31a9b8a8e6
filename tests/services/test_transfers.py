"""inventory.services.transfers: two movements per line, value moved, refusals write nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory import services
from inventory.models import Action, CostLayer, LayerConsumption, StockItem, StockMovement, StockTransfer
from inventory.services.errors import InsufficientStock, InvalidMovement
from tests.factories import StockItemFactory, StockLocationFactory, UserFactory, VariantFactory, cost_layers
from tests.services.invariants import assert_invariants

pytestmark = pytest.mark.django_db


def state() -> tuple:
    return (
        StockTransfer.objects.count(),
        StockItem.objects.count(),
        StockMovement.objects.count(),
        CostLayer.objects.count(),
        LayerConsumption.objects.count(),
        list(StockItem.objects.order_by("pk").values_list("pk", "count_on_hand", "value_in_stock")),
    )


@pytest.fixture
def places():
    return StockLocationFactory(code="SRC"), StockLocationFactory(code="DST")


def test_transfer_creates_two_movements_and_the_destination_item(places):
    source, destination = places
    variant = VariantFactory()
    user = UserFactory()
    out_item = StockItemFactory(stock_location=source, variant=variant, count_on_hand=10, value_per_unit="2.00")
    assert not StockItem.objects.filter(stock_location=destination, variant=variant).exists()

    record = services.transfer(source, destination, [(variant, 4)], user=user, reference="REF-1", notes="restock",
                               cause=services.Cause(caused_by_order_no="R1"))
    assert record.number.startswith("T") and record.reference == "REF-1" and record.created_by == user
    assert (record.source_location, record.destination_location) == (source, destination)

    out_leg = record.movements.get(action=Action.TRANSFERRED_OUT)
    in_leg = record.movements.get(action=Action.TRANSFERRED_IN)
    in_item = StockItem.objects.get(stock_location=destination, variant=variant)
    assert (out_leg.stock_item_id, out_leg.quantity, in_leg.stock_item_id, in_leg.quantity) == (
        out_item.pk, -4, in_item.pk, 4)
    assert in_leg.source_movement == out_leg
    assert out_leg.notes == in_leg.notes == "restock"
    assert out_leg.caused_by_order_no == in_leg.caused_by_order_no == "R1"
    assert out_leg.created_by == in_leg.created_by == user
    assert in_item.backorderable == destination.backorderable_default
    assert assert_invariants(out_item).count_on_hand == 6
    assert assert_invariants(in_item).count_on_hand == 4


def test_transfer_moves_value_batch_by_batch(places):
    source, destination = places
    variant = VariantFactory()
    out_item = StockItemFactory(stock_location=source, variant=variant)
    services.receive(out_item, 3, value_per_unit="10.00")
    services.receive(out_item, 5, value_per_unit="20.00")

    record = services.transfer(source, destination, [(variant.pk, 6)])
    out_leg = record.movements.get(action=Action.TRANSFERRED_OUT)
    in_leg = record.movements.get(action=Action.TRANSFERRED_IN)
    assert out_leg.total_cost == in_leg.total_cost == Decimal("90.00")
    in_item = assert_invariants(in_leg.stock_item_id)
    out_item = assert_invariants(out_item)
    # The destination holds the source's batches at their cost, not one averaged batch.
    assert cost_layers(in_item) == [(3, 3, Decimal("10.0000")), (3, 3, Decimal("20.0000"))]
    assert cost_layers(out_item)[-1] == (5, 2, Decimal("20.0000"))
    assert (in_item.value_in_stock, out_item.value_in_stock) == (Decimal("90.00"), Decimal("40.00"))
    assert in_item.value_in_stock + out_item.value_in_stock == Decimal("130.00")


def test_transfer_of_several_lines_into_an_existing_item(places):
    source, destination = places
    a, b = VariantFactory(), VariantFactory()
    StockItemFactory(stock_location=source, variant=a, count_on_hand=5)
    StockItemFactory(stock_location=source, variant=b, count_on_hand=5)
    existing = StockItemFactory(stock_location=destination, variant=a, count_on_hand=1)
    record = services.transfer(source, destination, [(a, 2), (b, 3)])
    assert record.movements.count() == 4
    assert assert_invariants(existing).count_on_hand == 3
    assert StockItem.objects.get(stock_location=destination, variant=b).count_on_hand == 3


@pytest.mark.parametrize(
    ("lines", "error", "field"),
    [
        ("empty", InvalidMovement, "lines"),
        ("dup", InvalidMovement, "lines"),
        ("zero", InvalidMovement, "quantity"),
        ("negative", InvalidMovement, "quantity"),
        ("too_many", InsufficientStock, "quantity"),
        ("second_short", InsufficientStock, "quantity"),
        ("no_source_item", InvalidMovement, "variant_id"),
    ],
)
def test_bad_transfers_write_nothing(places, lines, error, field):
    source, destination = places
    variant, other, unstocked = VariantFactory(), VariantFactory(), VariantFactory()
    StockItemFactory(stock_location=source, variant=variant, count_on_hand=5)
    StockItemFactory(stock_location=source, variant=other, count_on_hand=1)
    lines = {
        "empty": [],
        "dup": [(variant, 1), (variant.pk, 1)],
        "zero": [(variant, 0)],
        "negative": [(variant, -1)],
        "too_many": [(variant, 6)],
        # The first line alone would succeed: the whole transfer is one transaction.
        "second_short": [(variant, 2), (other, 2)],
        "no_source_item": [(unstocked, 1)],
    }[lines]
    before = state()
    with pytest.raises(error) as refused:
        services.transfer(source, destination, lines)
    assert refused.value.field == field
    assert state() == before


def test_transfer_to_the_same_location_is_refused(places):
    source, _ = places
    variant = VariantFactory()
    StockItemFactory(stock_location=source, variant=variant, count_on_hand=5)
    before = state()
    with pytest.raises(InvalidMovement) as refused:
        services.transfer(source, source, [(variant, 1)])
    assert refused.value.field == "destination"
    assert state() == before


def test_backorderable_source_may_transfer_short(places):
    source, destination = places
    variant = VariantFactory(cost_price=Decimal("7.00"))
    out_item = StockItemFactory(stock_location=source, variant=variant, backorderable=True)
    record = services.transfer(source, destination, [(variant, 2)])
    assert assert_invariants(out_item).count_on_hand == -2
    in_leg = record.movements.get(action=Action.TRANSFERRED_IN)
    assert in_leg.total_cost == Decimal("14.00")
    assert assert_invariants(in_leg.stock_item_id).value_in_stock == Decimal("14.00")
