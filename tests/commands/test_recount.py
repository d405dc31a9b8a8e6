"""`recount` service and command: detection, --fix, --dry-run, exit codes, scope and output."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from inventory import services
from inventory.models import CostLayer, StockItem, StockMovement
from inventory.services.recount import UnknownLocation, recount
from tests.commands.recount_support import (
    corrupt_balance,
    corrupt_count,
    figures,
    raw,
    run,
    set_column,
)
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


def test_consistent_ledger_has_no_drift_and_fix_changes_nothing(stocked):
    other = StockItemFactory(count_on_hand=3, value_per_unit="2.50")
    empty = StockItemFactory()
    before = [figures(i) for i in (stocked, other, empty)]

    assert recount().drifts == []
    report = recount(fix=True)
    assert report.drifts == [] and report.fixed
    assert report.items_checked == 3
    assert [figures(i) for i in (stocked, other, empty)] == before
    assert run()[0] == 0
    code, out = run("--fix")
    assert code == 0 and "No drift" in out


def test_count_drift_is_reported_and_fixed(stocked):
    corrupt_count(stocked, 999)

    report = recount()
    assert not report.fixed
    [drift] = report.drifts
    assert (drift.item_id, drift.sku, drift.location_code) == (stocked.pk, stocked.variant.sku,
                                                                stocked.stock_location.code)
    assert (drift.cached_count, drift.ledger_count, drift.bad_rows) == (999, 25, 0)
    assert drift.count_drift and "count" in drift.problems

    code, out = run()
    assert code == 1
    assert stocked.variant.sku in out and "999" in out and "--fix" in out

    code, out = run("--fix")
    assert code == 0 and "Fixed 1" in out
    stocked.refresh_from_db()
    assert stocked.count_on_hand == 25
    assert run()[0] == 0


def test_bad_balance_and_rank_rows_are_counted_and_fixed(stocked):
    movements = list(StockMovement.objects.filter(stock_item=stocked).order_by("movement_date", "id"))
    corrupt_balance(movements[1], 7)
    set_column(movements[2], "rank", 9)
    set_column(movements[3], "rank", 9)
    set_column(movements[3], "balance_after", 0)

    [drift] = recount().drifts
    assert drift.bad_rows == 3
    assert not drift.count_drift
    assert drift.problems == ["running figures"]

    recount(fix=True)
    assert list(StockMovement.objects.filter(stock_item=stocked).order_by("movement_date", "id")
                .values_list("figures__rank", "figures__balance_after")) == [(1, 50), (2, 80), (3, 20), (4, 25)]
    assert recount().drifts == []


def test_fix_restores_the_exact_figures_of_a_consistent_ledger(stocked):
    before = figures(stocked)
    newest = StockMovement.objects.filter(stock_item=stocked).order_by("-movement_date", "-id").first()
    corrupt_count(stocked, -4)
    corrupt_balance(newest, 1)
    recount(fix=True)
    after = figures(stocked)
    # Rows are rewritten, so timestamps and layer ids move; every figure is the same.
    strip = lambda f: {  # noqa: E731
        "item": f["item"][:3],
        "movements": [m[:-1] for m in f["movements"]],
        "layers": [layer[1:] for layer in f["layers"]],
        "consumptions": [(c[1], c[3], c[4]) for c in f["consumptions"]],
    }
    assert strip(after) == strip(before)


def test_value_drift_against_newest_movement_and_layers_is_fixed(stocked):
    raw(f"UPDATE {StockItem._meta.db_table} SET value_in_stock = %s WHERE id = %s", ["1.00", stocked.pk])
    [drift] = recount().drifts
    assert drift.value_drift and not drift.count_drift and drift.bad_rows == 0
    assert drift.cached_value == Decimal("1.00")
    assert drift.ledger_value == Decimal("500.00")  # 20 left @ 20.00, and 5 found, valued at the average
    assert drift.problems == ["value"]
    recount(fix=True)
    stocked.refresh_from_db()
    assert stocked.value_in_stock == drift.ledger_value
    assert recount().drifts == []


def test_layer_drift_is_detected_by_deep_and_layers_rebuilt(stocked):
    layer = CostLayer.objects.filter(stock_item=stocked).exclude(quantity_remaining=0).first()
    CostLayer.objects.filter(pk=layer.pk).update(quantity_remaining=layer.quantity_remaining + 3)
    # The default pass reads only the movements and the items (the layers are a second scan).
    [drift] = recount(deep=True).drifts
    assert drift.value_drift
    assert drift.layer_count == 28 and drift.ledger_count == 25
    recount(deep=True, fix=True)
    assert sum(CostLayer.objects.filter(stock_item=stocked).values_list("quantity_remaining", flat=True)) == 25
    assert recount(deep=True).drifts == []


@override_settings(STOCKROOM_VALUATION="average")
def test_average_value_drift_is_balance_times_average():
    item = StockItemFactory()
    services.receive(item, 50, value_per_unit="15.00")
    services.receive(item, 30, value_per_unit="20.00")
    services.sell(item, 60)
    assert recount().drifts == []
    raw(f"UPDATE {StockItem._meta.db_table} SET average_cost = %s WHERE id = %s", ["1.0000", item.pk])
    [drift] = recount().drifts
    assert drift.value_drift and drift.layer_value == Decimal("20.00")
    recount(fix=True)
    item.refresh_from_db()
    assert item.average_cost == Decimal("16.8750") and item.value_in_stock == Decimal("337.50")


def test_item_without_movements_but_a_count_drifts():
    item = StockItemFactory()
    corrupt_count(item, 4)
    [drift] = recount().drifts
    assert (drift.cached_count, drift.ledger_count) == (4, 0)
    recount(fix=True)
    item.refresh_from_db()
    assert item.count_on_hand == 0


def test_dry_run_never_writes_and_exits_1_even_with_fix(stocked):
    corrupt_count(stocked, 1)
    report = recount(fix=True, dry_run=True)
    assert len(report.drifts) == 1 and not report.fixed
    stocked.refresh_from_db()
    assert stocked.count_on_hand == 1
    code, out = run("--fix", "--dry-run")
    assert code == 1 and "Dry run" in out
    code, _ = run("--dry-run")
    assert code == 1
    stocked.refresh_from_db()
    assert stocked.count_on_hand == 1


def test_location_and_item_scope(stocked):
    there = StockItemFactory(count_on_hand=4)
    corrupt_count(stocked, 0)
    corrupt_count(there, 0)
    here_code, there_code = stocked.stock_location.code, there.stock_location.code

    assert [d.item_id for d in recount(location_code=here_code).drifts] == [stocked.pk]
    assert [d.item_id for d in recount(item_ids=[there.pk]).drifts] == [there.pk]
    assert recount(location_code=here_code, item_ids=[there.pk]).drifts == []

    code, out = run("--location", there_code, "--fix")
    assert code == 0
    there.refresh_from_db()
    stocked.refresh_from_db()
    assert (there.count_on_hand, stocked.count_on_hand) == (4, 0)
    assert run("--location", there_code)[0] == 0
    assert run()[0] == 1


def test_unknown_location_is_a_clear_error():
    with pytest.raises(UnknownLocation):
        recount(location_code="NOPE")
    with pytest.raises(CommandError, match="NOPE"):
        call_command("recount", "--location", "NOPE", stdout=StringIO())


def test_progress_reports_each_location_in_chunks(monkeypatch):
    from inventory.services import recount as recount_module

    monkeypatch.setattr(recount_module, "CHUNK_SIZE", 2)
    location = StockLocationFactory(code="BIG")
    for _ in range(5):
        StockItemFactory(stock_location=location, variant=VariantFactory(), count_on_hand=1)
    StockItemFactory(stock_location=StockLocationFactory(code="ZED"))
    calls = []
    report = recount(deep=True, progress=lambda *args: calls.append(args))
    assert report.locations == ["BIG", "ZED"] and report.items_checked == 6 and report.suspects == 6
    assert calls == [("BIG", 0, 5), ("BIG", 2, 5), ("BIG", 4, 5), ("BIG", 5, 5), ("ZED", 0, 1), ("ZED", 1, 1)]

    # By default the checksums cover every item at once; the exact pass runs on the suspects only.
    calls.clear()
    report = recount(progress=lambda *args: calls.append(args))
    assert report.items_checked == 6 and report.suspects == 0
    assert calls == [("BIG", 0, 5), ("BIG", 5, 5), ("ZED", 0, 1), ("ZED", 1, 1)]


def test_drifts_across_chunks_are_all_found_and_fixed(monkeypatch):
    from inventory.services import recount as recount_module

    monkeypatch.setattr(recount_module, "CHUNK_SIZE", 3)
    location = StockLocationFactory()
    items = [StockItemFactory(stock_location=location, variant=VariantFactory(), count_on_hand=n + 1)
             for n in range(7)]
    for item in items[::2]:
        corrupt_count(item, 100)
    assert sorted(d.item_id for d in recount().drifts) == [i.pk for i in items[::2]]
    recount(fix=True)
    assert [i.count_on_hand for i in StockItem.objects.filter(pk__in=[i.pk for i in items]).order_by("pk")] == \
        list(range(1, 8))


def test_output_off_a_terminal_is_plain_text(stocked):
    corrupt_count(stocked, 3)
    code, out = run()
    assert code == 1
    assert "\x1b[" not in out  # no escape codes in a log file
    assert f"{stocked.stock_location.code}: stock items checked: 1/1" in out
    assert "Drift in 1 of 1 stock items" in out


def test_transfer_items_are_fixed_without_breaking_the_other_leg():
    source, destination = StockLocationFactory(), StockLocationFactory()
    variant = VariantFactory()
    out_item = StockItemFactory(stock_location=source, variant=variant, count_on_hand=10, value_per_unit="3.00")
    services.transfer(source, destination, [(variant, 4)])
    in_item = StockItem.objects.get(stock_location=destination, variant=variant)
    corrupt_count(in_item, 40)
    recount(fix=True)
    in_item.refresh_from_db()
    out_item.refresh_from_db()
    assert (in_item.count_on_hand, in_item.value_in_stock) == (4, Decimal("12.00"))
    assert (out_item.count_on_hand, out_item.value_in_stock) == (6, Decimal("18.00"))
    assert recount().drifts == []


def test_transfer_whose_legs_disagree_in_value_is_drift_and_fixed():
    source, destination = StockLocationFactory(), StockLocationFactory()
    variant = VariantFactory()
    StockItemFactory(stock_location=source, variant=variant, count_on_hand=10, value_per_unit="3.00")
    record = services.transfer(source, destination, [(variant, 4)])
    in_leg = record.movements.get(action="transferred_in")
    # As a ledger written before reposts flowed through transfers could be: the destination kept an old cost.
    set_column(in_leg, "total_cost", "8.00")

    [drift] = recount().drifts
    assert (drift.item_id, drift.stale_transfers, drift.problems) == (in_leg.stock_item_id, 1, ["transfer value"])
    code, out = run()
    assert code == 1 and "transfer value" in out

    recount(fix=True)
    in_leg.refresh_from_db()
    assert in_leg.total_cost == Decimal("12.00")
    assert recount().drifts == []
