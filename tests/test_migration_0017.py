"""Migration 0017 holds each stock item's movement counters to their total; a total that disagreed with its
counters takes their sum, so that the constraint can be added and recount still reports the item."""

from __future__ import annotations

import pytest

from inventory.models import StockItem
from inventory.services.recount import recount
from tests.test_migrations import item_maker, migrating

pytestmark = pytest.mark.django_db(transaction=True)


def test_0017_gives_a_total_that_disagrees_the_sum_of_its_counters():
    with migrating("0016_append_movement_function", "0017_stock_item_counters_add_up") as apps:
        make = item_maker(apps)
        drifted = make("A", movement_counts={"received": 3, "sold": 40}, movement_total=7)
        agreeing = make("B", movement_counts={"counted": 2}, movement_total=2)
        empty = make("C")
    totals = dict(StockItem.objects.values_list("pk", "movement_total"))
    assert totals == {drifted.pk: 43, agreeing.pk: 2, empty.pk: 0}
    # Neither counted item has a ledger: recount still reports both, by their totals.
    assert sorted(d.item_id for d in recount().drifts) == [drifted.pk, agreeing.pk]
