"""Contract invariants 1, 3 and 6 checked on the database, for any test to call after writing stock."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from django.db.models import Sum

from inventory.models import CostLayer, StockItem, StockMovement
from inventory.services.recount import recount
from inventory.services.valuation import FIFO, money, valuation_method


def assert_invariants(item: StockItem | int, *, check_recount: bool = True) -> StockItem:
    """count_on_hand == sum of quantities; movement counters and locations agree with the ledger;
    ranks 1..n in (movement_date, id) order with running balances;
    newest balance_after and value figures == the item's; value == remaining layers (FIFO) or
    balance x average (moving average); and recount agrees that nothing drifted."""
    item = StockItem.objects.get(pk=item.pk if isinstance(item, StockItem) else item)
    movements = list(StockMovement.objects.filter(stock_item=item).select_related("figures")
                     .order_by("movement_date", "id"))
    assert item.count_on_hand == sum(m.quantity for m in movements)
    assert item.movement_counts == dict(Counter(m.action for m in movements))
    assert item.movement_total == len(movements)
    assert all(m.stock_location_id == item.stock_location_id for m in movements)

    running = 0
    for position, movement in enumerate(movements, start=1):
        running += movement.quantity
        assert (movement.rank, movement.balance_after) == (position, running), f"movement {movement.pk}"

    if movements:
        newest = movements[-1]
        assert newest.balance_after == item.count_on_hand
        assert newest.value_in_stock_after == item.value_in_stock
        assert newest.average_cost_after == item.average_cost
    else:
        assert (item.count_on_hand, item.value_in_stock) == (0, Decimal("0"))

    layers = CostLayer.objects.filter(stock_item=item)
    assert (layers.aggregate(n=Sum("quantity_remaining"))["n"] or 0) == item.count_on_hand
    if valuation_method() == FIFO:
        remaining = sum((lyr.quantity_remaining * lyr.unit_cost for lyr in layers), Decimal("0"))
        assert item.value_in_stock == money(remaining)
    else:
        assert item.value_in_stock == money(item.count_on_hand * item.average_cost)

    if check_recount:
        assert recount(item_ids=[item.pk]).drifts == []
    return item
