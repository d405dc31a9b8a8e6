"""`post_many` / `apply_counts_to_locked`: the set-based write path must leave exactly what posting the same
movements one by one leaves (rows, running figures, cost layers, consumptions, cached figures), in a
constant number of queries."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from django.db import transaction

from inventory import services
from inventory.models import Action, CostLayer, LayerConsumption, StockItem, StockMovement
from inventory.services.errors import InsufficientStock, InvalidMovement
from inventory.services.locking import lock_items
from inventory.services.movements import apply_counts_to_locked, post_many, post_movement
from inventory.services.recount import recount
from inventory.services.rules import NewMovement
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


def shape(item_id: int) -> dict:
    """An item's ledger without ids, timestamps or dates (which differ between two runs)."""
    item = StockItem.objects.get(pk=item_id)
    return {
        "item": (item.count_on_hand, item.value_in_stock, item.average_cost, item.last_counted_at is not None),
        "movements": list(StockMovement.objects.filter(stock_item_id=item_id).order_by("id").values_list(
            "quantity", "action", "figures__rank", "figures__balance_after", "figures__value_per_unit",
            "unit_cost_fixed", "figures__total_cost",
            "figures__value_in_stock_after", "figures__average_cost_after", "resource_type", "resource_id", "notes")),
        "layers": list(CostLayer.objects.filter(stock_item_id=item_id).order_by("id").values_list(
            "movement__figures__rank", "unit_cost", "quantity_received", "quantity_remaining")),
        "consumptions": list(LayerConsumption.objects.filter(movement__stock_item_id=item_id).order_by("id")
                             .values_list("movement__figures__rank", "layer__movement__figures__rank", "quantity",
                                          "unit_cost")),
    }


def twin_items(n: int, *, backorderable: bool = False) -> list[tuple[StockItem, StockItem]]:
    """n pairs of items with the same variant cost and the same history, at two locations."""
    a, b = StockLocationFactory(), StockLocationFactory()
    pairs = []
    for k in range(n):
        variant = VariantFactory(cost_price=Decimal("2.5000") + k)
        pair = []
        for location in (a, b):
            item = StockItemFactory(stock_location=location, variant=variant, backorderable=backorderable)
            services.receive(item, 10, value_per_unit="3.10")
            services.receive(item, 5, value_per_unit="4.25")
            services.sell(item, 12)
            pair.append(item)
        pairs.append(tuple(pair))
    return pairs


def plan(pairs, seed: int) -> list[tuple[int, int, str]]:
    """(pair index, quantity, action) entries, several per item, never below zero."""
    rng = random.Random(seed)
    balance = [3] * len(pairs)
    out = []
    for _ in range(30):
        k = rng.randrange(len(pairs))
        action, quantity = rng.choice([(Action.RECEIVED, rng.randint(1, 9)), (Action.SOLD, -rng.randint(1, 6)),
                                       (Action.ADJUSTED, rng.choice([-2, 3])), (Action.COUNTED, rng.randint(-4, 7))])
        if quantity == 0 or balance[k] + quantity < 0:
            action, quantity = Action.RETURNED, 2
        balance[k] += quantity
        out.append((k, quantity, action))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_post_many_matches_posting_one_by_one(seed):
    pairs = twin_items(4)
    entries = plan(pairs, seed)
    cause = services.Cause(resource_type="Batch", resource_id="7")

    with transaction.atomic():
        locked = lock_items(a.pk for a, _ in pairs)
        for k, quantity, action in entries:
            post_movement(NewMovement(locked[pairs[k][0].pk], quantity, action, cause, f"n{k}"))
    with transaction.atomic():
        locked = lock_items(b.pk for _, b in pairs)
        written = post_many([NewMovement(locked[pairs[k][1].pk], quantity, action, cause, f"n{k}")
                             for k, quantity, action in entries])

    assert [m.quantity for m in written] == [q for _, q, _ in entries]
    assert all(m.pk for m in written)
    for a, b in pairs:
        assert shape(b.pk) == shape(a.pk)
    assert recount().drifts == []


def test_post_many_costs_a_constant_number_of_queries(django_assert_max_num_queries):
    pairs = twin_items(6)
    with transaction.atomic():
        locked = lock_items(b.pk for _, b in pairs)
        entries = [NewMovement(item, -1, Action.SOLD) for item in locked.values()]
        entries += [NewMovement(item, 4, Action.RECEIVED) for item in locked.values()]
        with django_assert_max_num_queries(8):
            post_many(entries)
    assert recount().drifts == []


def test_refused_entry_writes_nothing():
    (a, _), = twin_items(1)
    before = StockMovement.objects.count()
    with pytest.raises(InsufficientStock), transaction.atomic():
        item = lock_items([a.pk])[a.pk]
        post_many([NewMovement(item, 2, Action.RECEIVED), NewMovement(item, -50, Action.SOLD)])
    with pytest.raises(InvalidMovement), transaction.atomic():
        item = lock_items([a.pk])[a.pk]
        post_many([NewMovement(item, 0, Action.ADJUSTED)])
    assert StockMovement.objects.count() == before
    assert recount().drifts == []


def test_backorderable_shortfall_and_settlement_match():
    pairs = twin_items(1, backorderable=True)
    entries = [(0, -8, Action.SOLD), (0, 3, Action.RECEIVED), (0, -1, Action.SOLD), (0, 9, Action.RECEIVED)]
    with transaction.atomic():
        item = lock_items([pairs[0][0].pk])[pairs[0][0].pk]
        for _, quantity, action in entries:
            post_movement(NewMovement(item, quantity, action))
    with transaction.atomic():
        item = lock_items([pairs[0][1].pk])[pairs[0][1].pk]
        post_many([NewMovement(item, quantity, action) for _, quantity, action in entries])
    assert shape(pairs[0][1].pk) == shape(pairs[0][0].pk)


def test_apply_counts_to_locked_matches_apply_count_to_locked():
    pairs = twin_items(3)
    counts = [9, 3, 0]  # up, unchanged, down to zero
    with transaction.atomic():
        locked = lock_items(a.pk for a, _ in pairs)
        one_by_one = [services.movements.apply_count_to_locked(locked[a.pk], c, notes="cc")
                      for (a, _), c in zip(pairs, counts, strict=True)]
    with transaction.atomic():
        locked = lock_items(b.pk for _, b in pairs)
        batched = apply_counts_to_locked([(locked[b.pk], c, "cc") for (_, b), c in zip(pairs, counts, strict=True)])
    assert [m is None for m in batched] == [m is None for m in one_by_one] == [False, True, False]
    for a, b in pairs:
        assert shape(b.pk) == shape(a.pk)
        assert StockItem.objects.get(pk=b.pk).last_counted_at is not None
