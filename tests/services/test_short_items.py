"""An item that is not backorderable but already below zero (made non-backorderable while short, issue 12.1):
it may always take stock in, and nothing may push it further below zero. No dead end, no new shortfall."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory import services
from inventory.models import StockMovement
from inventory.services.allocations import allocate
from inventory.services.errors import InsufficientStock
from inventory.services.stock_items import update_stock_item
from tests.factories import StockItemFactory, StockLocationFactory
from tests.services.invariants import assert_invariants

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_item():
    """Backorderable, sold 5 short, then made non-backorderable: count -5."""
    item = StockItemFactory(backorderable=True, count_on_hand=2, value_per_unit="3.00")
    services.sell(item, 7)
    update_stock_item(item.pk, backorderable=False)
    item.refresh_from_db()
    assert (item.count_on_hand, item.backorderable) == (-5, False)
    return item


def on_hand(item) -> int:
    return assert_invariants(item).count_on_hand


def test_small_receipts_raise_a_short_item_step_by_step(short_item):
    services.receive(short_item, 2, value_per_unit="3.00")
    assert on_hand(short_item) == -3
    services.adjust(short_item, 1)
    services.return_items(short_item, 1)
    assert on_hand(short_item) == -1


def test_nothing_takes_a_short_item_further_below_zero(short_item):
    for refused in (lambda: services.sell(short_item, 1), lambda: services.adjust(short_item, -1),
                    lambda: allocate(short_item, 1), lambda: update_stock_item(short_item.pk, count_on_hand=-1)):
        with pytest.raises(InsufficientStock):
            refused()
    assert on_hand(short_item) == -5


def test_a_count_and_a_transfer_in_bring_a_short_item_back(short_item):
    services.set_count(short_item, 0)
    assert on_hand(short_item) == 0
    other = StockItemFactory(stock_location=StockLocationFactory(code="SRC"), variant=short_item.variant,
                             count_on_hand=4)
    services.transfer(other.stock_location, short_item.stock_location, [(short_item.variant, 3)])
    assert on_hand(short_item) == 3


def test_corrections_may_raise_a_short_item_but_not_lower_it(short_item):
    receipt = StockMovement.objects.get(stock_item=short_item, action="received")
    services.update_movement(receipt, quantity=3)  # -5 -> -4: raised, still short
    assert on_hand(short_item) == -4
    with pytest.raises(InsufficientStock):
        services.update_movement(receipt, quantity=1)  # -4 -> -6
    earlier = timezone.now() - timedelta(hours=1)
    services.receive(short_item, 1, movement_date=earlier, value_per_unit="3.00")  # backdated receipt: -3
    assert on_hand(short_item) == -3
    with pytest.raises(InsufficientStock):
        services.sell(short_item, 1, movement_date=earlier)
    assert on_hand(short_item) == -3
