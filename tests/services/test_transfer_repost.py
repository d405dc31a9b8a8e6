"""A repost at a transfer's source flows on to its destination, so value is conserved in transit."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from inventory import services
from inventory.models import Action, StockItem, StockMovement
from tests.factories import StockItemFactory, StockLocationFactory, cost_layers

pytestmark = pytest.mark.django_db


def _legs(transfer):
    out_leg = transfer.movements.get(action=Action.TRANSFERRED_OUT)
    in_leg = transfer.movements.get(action=Action.TRANSFERRED_IN)
    return out_leg, in_leg


@pytest.mark.parametrize("method", ["fifo", "average"])
def test_backdated_receipt_at_the_source_revalues_the_destination(method):
    with override_settings(STOCKROOM_VALUATION=method):
        item = StockItemFactory()
        destination = StockLocationFactory()
        services.receive(item, 10, value_per_unit="10.00")
        transfer = services.transfer(item.stock_location, destination, [(item.variant, 5)])
        assert _legs(transfer)[0].total_cost == Decimal("50.00")

        services.receive(item, 10, value_per_unit="1.00", movement_date=timezone.now() - timedelta(days=1))

        out_leg, in_leg = _legs(transfer)
        expected = Decimal("5.00") if method == "fifo" else Decimal("27.50")  # FIFO 5 @ 1; average (10+100)/20
        assert out_leg.total_cost == expected
        assert in_leg.total_cost == expected
        target = StockItem.objects.get(stock_location=destination, variant=item.variant)
        assert target.value_in_stock == expected
        assert in_leg.value_in_stock_after == expected
        if method == "fifo":
            assert cost_layers(target) == [(5, 5, Decimal("1.0000"))]


def test_deleting_at_the_source_flows_through_a_chain_of_transfers():
    item = StockItemFactory()
    middle, last = StockLocationFactory(), StockLocationFactory()
    first_receipt = services.receive(item, 5, value_per_unit="2.00")
    services.receive(item, 5, value_per_unit="4.00")
    services.transfer(item.stock_location, middle, [(item.variant, 5)])
    services.transfer(middle, last, [(item.variant, 5)])
    end = StockItem.objects.get(stock_location=last, variant=item.variant)
    assert end.value_in_stock == Decimal("10.00")

    services.delete_movement(first_receipt)

    end.refresh_from_db()
    assert end.value_in_stock == Decimal("20.00")
    total_value = sum(StockItem.objects.filter(variant=item.variant).values_list("value_in_stock", flat=True))
    assert total_value == Decimal("20.00")  # the 5 units left in the whole chain, at 4.00


def test_a_repost_moves_updated_at_of_the_movements_whose_figures_changed():
    item = StockItemFactory()
    sale = services.receive(item, 10, value_per_unit="3.00")
    later = services.sell(item, 4)
    before = StockMovement.objects.get(pk=later.pk).updated_at

    services.receive(item, 1, value_per_unit="3.00", movement_date=sale.movement_date - timedelta(hours=1))

    later.refresh_from_db()
    assert later.balance_after == 7
    assert later.updated_at > before
