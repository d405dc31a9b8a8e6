"""Valuation: FIFO layers and moving average, the shortfall rule, transfers, and backdating."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory import services
from inventory.models import Action, CostLayer, LayerConsumption, StockItem, StockMovement
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory, cost_layers
from tests.services.invariants import assert_invariants

pytestmark = pytest.mark.django_db
average = override_settings(STOCKROOM_VALUATION="average")


def worked_example():
    item = StockItemFactory()
    first = services.receive(item, 50, value_per_unit="15.00")
    second = services.receive(item, 30, value_per_unit="20.00")
    sale = services.sell(item, 60)
    return item, first, second, sale


def test_fifo_worked_example():
    item, first, second, sale = worked_example()
    assert sale.total_cost == Decimal("950.00")
    assert sale.value_in_stock_after == Decimal("400.00")
    assert sale.average_cost_after == Decimal("20.0000")
    assert sale.value_per_unit == Decimal("15.8333")  # 950 / 60
    # The sale drew all of the first batch and 10 of the second: both are its reference ids.
    drawn = list(LayerConsumption.objects.filter(movement=sale).order_by("id")
                 .values_list("layer__movement_id", "quantity", "unit_cost"))
    assert drawn == [(first.pk, 50, Decimal("15.0000")), (second.pk, 10, Decimal("20.0000"))]
    assert cost_layers(item) == [(50, 0, Decimal("15.0000")), (30, 20, Decimal("20.0000"))]
    item = assert_invariants(item)
    assert (item.value_in_stock, item.average_cost) == (Decimal("400.00"), Decimal("20.0000"))


@average
def test_moving_average_worked_example():
    item, first, second, sale = worked_example()
    second.refresh_from_db()
    assert second.average_cost_after == Decimal("16.8750")
    assert sale.total_cost == Decimal("1012.50")
    assert sale.value_in_stock_after == Decimal("337.50")
    assert sale.average_cost_after == Decimal("16.8750")
    # Batches are still tracked, so the sale's reference ids are the same two receipts.
    assert sorted(LayerConsumption.objects.filter(movement=sale).values_list("layer__movement_id", flat=True)) == \
        [first.pk, second.pk]
    item = assert_invariants(item)
    assert (item.value_in_stock, item.average_cost) == (Decimal("337.50"), Decimal("16.8750"))


def test_rounding_keeps_totals_to_cents_and_unit_costs_to_four_places():
    item = StockItemFactory()
    services.receive(item, 3, value_per_unit="0.3333")
    services.receive(item, 3, value_per_unit="0.6667")
    sale = services.sell(item, 4)
    assert sale.total_cost == Decimal("1.67")  # 3 x 0.3333 + 0.6667 = 1.6666
    assert sale.value_per_unit == Decimal("0.4167")
    assert sale.value_in_stock_after == Decimal("1.33")  # 2 x 0.6667 = 1.3334
    assert_invariants(item)


def test_shortfall_is_costed_at_the_running_average_and_settled_by_the_next_receipt():
    item = StockItemFactory(backorderable=True)
    services.receive(item, 10, value_per_unit="5.00")
    sale = services.sell(item, 15)
    # 10 from the batch at 5.00, 5 short at the running average (5.00): a shortfall layer of -5.
    assert (sale.total_cost, sale.balance_after, sale.value_in_stock_after) == (Decimal("75.00"), -5,
                                                                                 Decimal("-25.00"))
    assert cost_layers(item) == [(10, 0, Decimal("5.0000")), (-5, -5, Decimal("5.0000"))]
    assert_invariants(item)

    receipt = services.receive(item, 8, value_per_unit="7.00")
    # The first 5 units settle the shortfall (its provisional cost stands); 3 form a new batch.
    assert (receipt.total_cost, receipt.balance_after, receipt.value_in_stock_after) == (Decimal("56.00"), 3,
                                                                                          Decimal("21.00"))
    assert cost_layers(item) == [(10, 0, Decimal("5.0000")), (-5, 0, Decimal("5.0000")), (3, 3, Decimal("7.0000"))]
    settled = LayerConsumption.objects.get(movement=receipt)
    assert (settled.quantity, settled.layer.quantity_received) == (5, -5)
    assert_invariants(item)


def test_shortfall_without_any_history_uses_the_variant_cost_price_else_zero():
    priced = StockItemFactory(backorderable=True, variant=VariantFactory(cost_price=Decimal("3.00")))
    assert services.sell(priced, 2).total_cost == Decimal("6.00")
    unpriced = StockItemFactory(backorderable=True)
    assert services.sell(unpriced, 2).total_cost == Decimal("0.00")
    assert_invariants(priced)
    assert_invariants(unpriced)


@average
def test_shortfall_under_moving_average():
    item = StockItemFactory(backorderable=True)
    services.receive(item, 4, value_per_unit="10.00")
    sale = services.sell(item, 6)
    assert (sale.total_cost, sale.value_in_stock_after, sale.average_cost_after) == (
        Decimal("60.00"), Decimal("-20.00"), Decimal("10.0000"))
    receipt = services.receive(item, 4, value_per_unit="13.00")
    # Back above zero: the average restarts from the receipt's cost.
    assert (receipt.balance_after, receipt.average_cost_after, receipt.value_in_stock_after) == (
        2, Decimal("13.0000"), Decimal("26.00"))
    assert_invariants(item)


def transfer_of(quantity: int, receipts: list[tuple[int, str]]):
    source, destination = StockLocationFactory(), StockLocationFactory()
    variant = VariantFactory()
    out_item = StockItemFactory(stock_location=source, variant=variant)
    for qty, cost in receipts:
        services.receive(out_item, qty, value_per_unit=cost)
    record = services.transfer(source, destination, [(variant, quantity)])
    in_item = StockItem.objects.get(stock_location=destination, variant=variant)
    return record, assert_invariants(out_item), assert_invariants(in_item)


def test_transfers_carry_layer_costs():
    record, out_item, in_item = transfer_of(60, [(50, "15.00"), (30, "20.00")])
    assert cost_layers(in_item) == [(50, 50, Decimal("15.0000")), (10, 10, Decimal("20.0000"))]
    assert in_item.value_in_stock == Decimal("950.00")
    assert out_item.value_in_stock + in_item.value_in_stock == Decimal("1350.00")
    # Selling at the destination costs the batches it received, oldest first.
    assert services.sell(in_item, 55).total_cost == Decimal("850.00")


@average
def test_transfers_move_value_under_moving_average():
    record, out_item, in_item = transfer_of(60, [(50, "15.00"), (30, "20.00")])
    out_leg = record.movements.get(action=Action.TRANSFERRED_OUT)
    in_leg = record.movements.get(action=Action.TRANSFERRED_IN)
    assert out_leg.total_cost == in_leg.total_cost == Decimal("1012.50")
    assert in_item.average_cost == Decimal("16.8750")
    # No value appears or vanishes in transit.
    assert out_item.value_in_stock + in_item.value_in_stock == Decimal("1350.00")


@pytest.mark.parametrize("method", ["fifo", "average"])
def test_invariant_6_holds_through_a_busy_history(method):
    with override_settings(STOCKROOM_VALUATION=method):
        item = StockItemFactory(backorderable=True)
        for step in range(12):
            services.receive(item, 3 + step % 4, value_per_unit=f"{1 + step * 0.37:.2f}")
            services.sell(item, 2 + step % 5)
            if step % 3 == 0:
                services.adjust(item, -1)
            if step % 4 == 0:
                services.return_items(item, 1)
        services.set_count(item, 5)
        item = assert_invariants(item)
        remaining = sum((q * c for _, q, c in cost_layers(item)), Decimal("0"))
        if method == "fifo":
            assert item.value_in_stock == remaining.quantize(Decimal("0.01"))
        else:
            assert item.value_in_stock == (item.count_on_hand * item.average_cost).quantize(Decimal("0.01"))


def test_rebuild_of_a_consistent_ledger_changes_no_figure():
    from django.db import transaction

    from inventory.services.locking import lock_item
    from inventory.services.rebuild import rebuild_item

    item, *_ = worked_example()
    services.sell(item, 15)
    services.return_items(item, 3)
    before = list(StockMovement.objects.filter(stock_item=item).order_by("id").values_list(
        "figures__rank", "figures__balance_after", "figures__value_per_unit", "figures__total_cost",
        "figures__value_in_stock_after", "figures__average_cost_after",
        "figures__updated_at"))
    layers = cost_layers(item)
    with transaction.atomic():
        rebuild_item(lock_item(item.pk))
    after = list(StockMovement.objects.filter(stock_item=item).order_by("id").values_list(
        "figures__rank", "figures__balance_after", "figures__value_per_unit", "figures__total_cost",
        "figures__value_in_stock_after", "figures__average_cost_after",
        "figures__updated_at"))
    assert after == before and cost_layers(item) == layers


# --- backdating: insertion order does not matter ------------------------------------------------------

# (days ago, quantity, unit cost or None). Dates are distinct, so the date order is the ledger order.
dated_movements = st.lists(
    st.tuples(st.integers(1, 400), st.integers(-6, 9).filter(bool), st.sampled_from([None, "1.10", "2.50", "7.00"])),
    min_size=1, max_size=8, unique_by=lambda m: m[0],
)


def ledger_figures(item: StockItem) -> dict:
    item.refresh_from_db()
    return {
        "item": (item.count_on_hand, item.value_in_stock, item.average_cost),
        "movements": list(StockMovement.objects.filter(stock_item=item).order_by("movement_date").values_list(
            "movement_date", "quantity", "figures__rank", "figures__balance_after", "figures__value_per_unit",
            "figures__total_cost",
            "figures__value_in_stock_after", "figures__average_cost_after")),
        "layers": sorted(CostLayer.objects.filter(stock_item=item).values_list(
            "movement__movement_date", "unit_cost", "quantity_received", "quantity_remaining")),
    }


def record(item: StockItem, when, quantity: int, cost: str | None) -> None:
    if quantity > 0:
        services.receive(item, quantity, value_per_unit=cost, movement_date=when)
    else:
        services.adjust(item, quantity, movement_date=when)


def check_order_independence(movements, order):
    now = timezone.now().replace(microsecond=0)
    # One location per example: hypothesis reuses the test transaction across examples.
    location = StockLocationFactory()
    in_date_order = StockItemFactory(stock_location=location, backorderable=True)
    shuffled = StockItemFactory(stock_location=location, backorderable=True)
    dated = [(now - timedelta(days=days), qty, cost) for days, qty, cost in movements]
    for when, qty, cost in sorted(dated):
        record(in_date_order, when, qty, cost)
    for index in order:
        record(shuffled, *dated[index])
    assert ledger_figures(shuffled) == ledger_figures(in_date_order)
    assert_invariants(shuffled)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), movements=dated_movements)
def test_any_insertion_order_gives_the_same_figures_fifo(data, movements):
    order = data.draw(st.permutations(range(len(movements))))
    check_order_independence(movements, order)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), movements=dated_movements)
def test_any_insertion_order_gives_the_same_figures_average(data, movements):
    order = data.draw(st.permutations(range(len(movements))))
    with override_settings(STOCKROOM_VALUATION="average"):
        check_order_independence(movements, order)


def test_backdating_at_a_transfer_source_revalues_the_destination():
    source, destination = StockLocationFactory(), StockLocationFactory()
    variant = VariantFactory()
    out_item = StockItemFactory(stock_location=source, variant=variant)
    now = timezone.now()
    services.receive(out_item, 5, value_per_unit="1.00", movement_date=now - timedelta(days=2))
    record = services.transfer(source, destination, [(variant, 5)])
    # An older batch turns up: FIFO says the transfer took it, at 2.00.
    services.receive(out_item, 5, value_per_unit="2.00", movement_date=now - timedelta(days=3))
    out_leg = record.movements.get(action=Action.TRANSFERRED_OUT)
    in_leg = record.movements.get(action=Action.TRANSFERRED_IN)
    assert out_leg.total_cost == Decimal("10.00")
    assert in_leg.total_cost == out_leg.total_cost
    assert_invariants(out_item)
    assert assert_invariants(in_leg.stock_item_id).value_in_stock == Decimal("10.00")
