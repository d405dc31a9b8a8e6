"""export_levels and export_movements: CSV of levels and of the ledger, streamed in keyset chunks."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import services
from inventory.models import StockMovement
from inventory.selectors import exports
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


def run(name: str, *args) -> list[dict]:
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO())
    return list(csv.DictReader(io.StringIO(out.getvalue())))


@pytest.fixture
def ledger():
    main, shop = StockLocationFactory(code="MAIN"), StockLocationFactory(code="SHOP")
    now = timezone.now()
    items = [StockItemFactory(stock_location=location, variant=VariantFactory(sku=f"S-{n}"))
             for n, location in enumerate([main, main, shop])]
    for days, item in enumerate(items * 3):
        services.record_movement(services.MovementRequest(stock_item=item, quantity=2, action="received",
                                                          movement_date=now - timedelta(days=10 - days),
                                                          value_per_unit="1.5"))
    return main, shop, items


def test_export_levels_all_and_one_location(ledger):
    rows = run("export_levels")
    assert [(r["location"], r["sku"], r["count_on_hand"], r["available"], r["value_in_stock"]) for r in rows] == [
        ("MAIN", "S-0", "6", "6", "9.00"), ("MAIN", "S-1", "6", "6", "9.00"), ("SHOP", "S-2", "6", "6", "9.00")]
    assert [r["sku"] for r in run("export_levels", "--location", "shop")] == ["S-2"]


def test_export_movements_by_dates_and_location(ledger):
    everything = run("export_movements")
    assert [int(r["id"]) for r in everything] == list(
        StockMovement.objects.order_by("movement_date", "pk").values_list("pk", flat=True))
    today = timezone.localdate()
    last_days = run("export_movements", "--from", str(today - timedelta(days=3)), "--to", str(today))
    assert len(last_days) == 2  # the movements dated 3 and 2 days ago
    at_shop = run("export_movements", "--location", "SHOP")
    assert {r["location"] for r in at_shop} == {"SHOP"} and len(at_shop) == 3
    assert [r["balance_after"] for r in at_shop] == ["2", "4", "6"]


def test_export_reads_in_chunks_of_constant_size(ledger, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK", 4)
    movements = StockMovement.objects.all()
    with CaptureQueriesContext(connection) as queries:
        rows = list(exports.movement_rows(movements, chunk=4))
    assert len(rows) == 9 and len(queries) == 3  # 4 + 4 + 1 rows
    assert [row[0] for row in rows] == list(movements.order_by("movement_date", "pk").values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        levels = list(exports.level_rows(exports.live_items(), chunk=2))
    assert len(levels) == 3 and len(queries) == 2


def test_export_writes_a_file(ledger, tmp_path):
    target = tmp_path / "levels.csv"
    err = io.StringIO()
    call_command("export_levels", "--output", str(target), stdout=io.StringIO(), stderr=err)
    assert len(list(csv.DictReader(target.open()))) == 3
    assert "3 stock items written" in err.getvalue()


@pytest.mark.parametrize("args", [
    ["export_movements", "--from", "2024-13-01"], ["export_movements", "--location", "NOWHERE"],
    ["export_movements", "--from", "2024-02-02", "--to", "2024-02-01"], ["export_levels", "--location", "X"],
])
def test_bad_arguments_are_usage_errors(ledger, args):
    with pytest.raises(CommandError) as raised:
        call_command(*args, stdout=io.StringIO())
    assert raised.value.returncode == 2


def test_the_end_of_the_calendar_is_an_open_end(ledger):
    assert len(run("export_movements", "--to", "9999-12-31")) == 9
