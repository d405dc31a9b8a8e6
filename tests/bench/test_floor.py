"""The bench's floor (raw psycopg writes) must commit against the current schema: when the ledger gains a
NOT NULL column the floor does not fill, every floor transaction fails, and the bench must say so rather
than report a floor of 0 movements/s."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from bench.floor import run_floor
from inventory.models import StockItem, StockMovement
from tests.bench.test_bench_data import load
from tests.conftest import requires_postgres
from tests.servers import database_url

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_the_floor_commits_consistent_movements_at_the_items_location():
    load(movements=40, items=4, locations=2, seed=3)
    ids = list(StockItem.objects.order_by("pk").values_list("pk", flat=True))
    before = StockMovement.objects.count()

    result = run_floor(database_url(), ids, clients=2, seconds=0.3)

    assert result.errors == 0 and result.movements > 0
    written = StockMovement.objects.filter(resource_type="bench")
    assert written.count() == result.movements == StockMovement.objects.count() - before
    for item in StockItem.objects.all():
        assert item.count_on_hand == StockMovement.objects.filter(stock_item=item).aggregate(
            n=Sum("quantity"))["n"]
        assert not written.filter(stock_item=item).exclude(stock_location_id=item.stock_location_id).exists()


def test_a_floor_that_cannot_commit_is_an_error():
    with pytest.raises(RuntimeError, match="the floor committed nothing"):
        run_floor(database_url(), [2**31 - 5], clients=1, seconds=0.2)
