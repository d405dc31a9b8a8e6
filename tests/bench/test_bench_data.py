"""`bench_data` loads with COPY, so it must produce exactly the ledger the services would have written:
`recount` finds nothing, and reposting an item's whole ledger through `valuation.repost_item` changes no
figure, cost layer or consumption."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Sum

from inventory import services
from inventory.models import CostLayer, LayerConsumption, StockItem, StockLocation, StockMovement
from inventory.services.locking import lock_item
from inventory.services.rebuild import rebuild_item
from inventory.services.recount import recount
from tests.conftest import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db]


def figures(item_id: int) -> dict:
    item = StockItem.objects.get(pk=item_id)
    return {
        "item": (item.count_on_hand, item.value_in_stock, item.average_cost),
        "movements": list(StockMovement.objects.filter(stock_item_id=item_id).order_by("id").values_list(
            "id", "figures__rank", "figures__balance_after", "figures__value_per_unit", "unit_cost_fixed",
            "figures__total_cost",
            "figures__value_in_stock_after", "figures__average_cost_after", "figures__running_value")),
        # rebuild_item recreates layers with new ids, so compare them by content and in order.
        "layers": list(CostLayer.objects.filter(stock_item_id=item_id).order_by("id").values_list(
            "movement_id", "unit_cost", "quantity_received", "quantity_remaining")),
        "consumptions": list(LayerConsumption.objects.filter(movement__stock_item_id=item_id).order_by("id")
                             .values_list("movement_id", "layer__movement_id", "quantity", "unit_cost")),
    }


def load(**options) -> str:
    out = StringIO()
    call_command("bench_data", stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def test_generated_ledger_is_consistent():
    output = load(movements=1000, items=40, locations=2, seed=7)
    assert "1000 movements" in output
    assert StockMovement.objects.count() == 1000
    assert StockItem.objects.count() == 40
    assert StockLocation.objects.count() == 2

    report = recount()
    assert report.items_checked == 40
    assert report.drifts == []

    for item in StockItem.objects.all():
        ledger = StockMovement.objects.filter(stock_item=item).aggregate(total=Sum("quantity"))["total"] or 0
        assert item.count_on_hand == ledger >= 0

    # The services' own replay must agree figure for figure on every item.
    for item_id in StockItem.objects.values_list("pk", flat=True):
        before = figures(item_id)
        with transaction.atomic():
            rebuild_item(lock_item(item_id))
        assert figures(item_id) == before, f"item {item_id} changed when reposted"


def test_filter_fields_and_dates_are_spread():
    load(movements=500, items=20, locations=1, days=30)
    movements = StockMovement.objects.all()
    assert movements.exclude(resource_type="").count() == 500
    assert movements.exclude(caused_by_order_no="").exists()
    assert set(movements.values_list("action", flat=True)) >= {"received", "sold", "adjusted", "counted"}
    dates = list(movements.order_by("id").values_list("movement_date", flat=True))
    assert dates == sorted(dates)
    assert (dates[-1] - dates[0]).days >= 28


def test_services_append_to_a_generated_ledger():
    load(movements=300, items=10, locations=1)
    item = StockItem.objects.order_by("pk").first()
    services.receive(item, 5)
    services.sell(item, 2)
    assert recount().drifts == []


def test_appends_a_second_catalogue_and_flush_empties_first():
    load(movements=100, items=10, locations=1, prefix="ONE")
    load(movements=100, items=10, locations=1, prefix="TWO")
    assert StockMovement.objects.count() == 200
    assert recount().drifts == []
    load(movements=50, items=5, locations=1, flush=True)
    assert StockMovement.objects.count() == 50
    assert StockItem.objects.count() == 5


def test_bad_arguments_are_refused():
    with pytest.raises(CommandError):
        load(movements=10, items=1, locations=2)
