"""`recount` service and command: detection, --fix, --dry-run, exit codes, scope and output."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from inventory import services
from inventory.models import FIGURE_FIELDS, CostLayer, LayerConsumption, MovementFigures, StockItem, StockMovement
from inventory.services.recount import UnknownLocation, recount
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory
from tests.services.invariants import assert_invariants

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[int, str]:
    """(exit code, stdout) of `manage.py recount ARGS`."""
    out = StringIO()
    try:
        call_command("recount", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def raw(sql: str, params: list) -> None:
    """Corrupt the database behind the services' back, as a bug or a manual UPDATE would."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def corrupt_count(item: StockItem, value: int) -> None:
    raw(f"UPDATE {StockItem._meta.db_table} SET count_on_hand = %s WHERE id = %s", [value, item.pk])


def corrupt_balance(movement: StockMovement, value: int) -> None:
    set_column(movement, "balance_after", value)


def figures(item: StockItem) -> dict:
    """Everything recount --fix could rewrite for an item."""
    item = StockItem.objects.get(pk=item.pk)
    return {
        "item": (item.count_on_hand, item.value_in_stock, item.average_cost, item.updated_at),
        "movements": list(StockMovement.objects.filter(stock_item=item).order_by("id").values_list(
            "id", "figures__rank", "figures__balance_after", "figures__value_per_unit", "figures__total_cost",
            "figures__value_in_stock_after",
            "figures__average_cost_after", "figures__updated_at")),
        "layers": list(CostLayer.objects.filter(stock_item=item).order_by("id").values_list(
            "id", "unit_cost", "quantity_received", "quantity_remaining")),
        "consumptions": list(LayerConsumption.objects.filter(movement__stock_item=item).order_by("id").values_list(
            "id", "movement_id", "layer_id", "quantity", "unit_cost")),
    }


@pytest.fixture
def stocked():
    """An item with a small history: 50 @ 15, 30 @ 20, sell 60, adjust +5."""
    item = StockItemFactory()
    services.receive(item, 50, value_per_unit="15.00")
    services.receive(item, 30, value_per_unit="20.00")
    services.sell(item, 60)
    services.adjust(item, 5)
    item.refresh_from_db()
    return item


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


# --- the checksum pass: each corruption alone, found by default and repaired by --fix ---------------------

def ledger(item: StockItem) -> list[StockMovement]:
    return list(StockMovement.objects.filter(stock_item=item).order_by("movement_date", "id"))


def set_column(movement: StockMovement, column: str, value) -> None:
    """Set a column of the movement's row, or of its figures' row for a figure."""
    model, key = (MovementFigures, "movement_id") if column in FIGURE_FIELDS else (StockMovement, "id")
    raw(f"UPDATE {model._meta.db_table} SET {connection.ops.quote_name(column)} = %s WHERE {key} = %s",
        [value, movement.pk])


def delete_movement(movement: StockMovement) -> None:
    # With its consumptions and figures, as a careless manual DELETE that got past the foreign keys would.
    raw(f"DELETE FROM {LayerConsumption._meta.db_table} WHERE movement_id = %s", [movement.pk])
    raw(f"DELETE FROM {MovementFigures._meta.db_table} WHERE movement_id = %s", [movement.pk])
    raw(f"DELETE FROM {StockMovement._meta.db_table} WHERE id = %s", [movement.pk])


def duplicate_movement(movement: StockMovement) -> None:
    """A copy of the movement (and of its figures) under a new id."""
    columns = ", ".join(connection.ops.quote_name(f.column) for f in StockMovement._meta.concrete_fields
                        if not f.primary_key)
    table = StockMovement._meta.db_table
    raw(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} WHERE id = %s", [movement.pk])
    copy = StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first()
    figures = [f.column for f in MovementFigures._meta.concrete_fields if f.column != "movement_id"]
    names = ", ".join(connection.ops.quote_name(c) for c in figures)
    raw(f"INSERT INTO {MovementFigures._meta.db_table} (movement_id, {names}) SELECT %s, {names}"
        f" FROM {MovementFigures._meta.db_table} WHERE movement_id = %s", [copy, movement.pk])


# A changed ledger also disagrees with the item's cost layers and value.
LEDGER = ["count", "running figures", "value"]
# A movement more or less also disagrees with the item's movement counters.
LEDGER_ROWS = [*LEDGER, "movement counts"]


def move_elsewhere(movement: StockMovement) -> None:
    set_column(movement, "stock_location_id", StockLocationFactory().pk)


def set_counters(item: StockItem, counts: dict) -> None:
    """Counters and their total changed together, as the table's constraint requires."""
    StockItem.objects.filter(pk=item.pk).update(movement_counts=counts, movement_total=sum(counts.values()))
# (corruption of the `stocked` item: 50 @ 15, 30 @ 20, sell 60, adjust +5), problems found, count after --fix
CORRUPTIONS = {
    "middle balance_after": (lambda rows, item: set_column(rows[1], "balance_after", 81), ["running figures"], 25),
    "a rank": (lambda rows, item: set_column(rows[2], "rank", 7), ["running figures"], 25),
    "deleted movement": (lambda rows, item: delete_movement(rows[2]), LEDGER_ROWS, 85),
    "extra movement": (lambda rows, item: duplicate_movement(rows[1]), LEDGER_ROWS, 55),
    "movement counters": (lambda rows, item: set_counters(item, {"received": 2, "sold": 1}), ["movement counts"],
                          25),
    "movement total": (lambda rows, item: set_counters(item, {"received": 38, "sold": 1, "adjusted": 1}),
                       ["movement counts"], 25),
    "count_on_hand": (lambda rows, item: corrupt_count(item, 24), ["count"], 25),
    "value_in_stock": (lambda rows, item: raw(f"UPDATE {StockItem._meta.db_table} SET value_in_stock = %s "
                                              "WHERE id = %s", ["499.99", item.pk]), ["value"], 25),
    "newest value_in_stock_after": (lambda rows, item: set_column(rows[3], "value_in_stock_after", "500.01"),
                                    ["running figures", "value"], 25),
}


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_each_corruption_is_found_by_default_and_fixed(stocked, corruption):
    corrupt, problems, count_after = CORRUPTIONS[corruption]
    corrupt(ledger(stocked), stocked)

    report = recount()
    [drift] = report.drifts
    assert (drift.item_id, drift.problems) == (stocked.pk, problems)
    assert report.suspects == 1  # only the drifted item went through the exact pass
    assert recount(deep=True).drifts == report.drifts  # the same report as a full exact check

    code, out = run()
    assert code == 1 and stocked.variant.sku in out
    code, out = run("--fix")
    assert code == 0 and "Fixed 1" in out
    assert_invariants(stocked)
    assert StockItem.objects.get(pk=stocked.pk).count_on_hand == count_after
    assert recount(deep=True).drifts == []


def test_a_movement_quantity_changed_behind_the_services_is_found_by_deep_and_fixed(stocked):
    """The default pass reads the figures table alone (one scan: a second, of the movements, would double its
    cost), whose copy of each quantity the services write with the movement; the exact pass compares the
    copies with the movements. A quantity changed by hand in the movement table is seen there."""
    set_column(ledger(stocked)[1], "quantity", 31)
    assert recount().drifts == []
    [drift] = recount(deep=True).drifts
    assert (drift.item_id, drift.problems) == (stocked.pk, LEDGER)

    corrupt_count(stocked, 24)  # flagged by the default pass: the exact pass then sees the quantity too
    [drift] = recount().drifts
    assert drift.problems == LEDGER

    code, out = run("--fix")
    assert code == 0 and "Fixed 1" in out
    assert_invariants(stocked)
    assert StockItem.objects.get(pk=stocked.pk).count_on_hand == 26
    assert recount(deep=True).drifts == []


def test_a_movement_at_another_location_is_found_by_deep_and_fixed(stocked):
    """Only the services write a movement's location, from its item's; the default pass leaves the check to
    the exact one (it costs about 0.1 to 0.2x the GROUP BY), which also runs on any item flagged otherwise."""
    move_elsewhere(ledger(stocked)[1])
    assert recount().drifts == []
    [drift] = recount(deep=True).drifts
    assert (drift.item_id, drift.problems) == (stocked.pk, ["location"])

    corrupt_count(stocked, 24)  # flagged by the default pass: the exact pass then sees the location too
    [drift] = recount().drifts
    assert drift.problems == ["count", "location"]

    code, out = run("--fix")
    assert code == 0 and "Fixed 1" in out
    assert_invariants(stocked)
    assert recount(deep=True).drifts == []


@pytest.mark.parametrize("change", [
    {"movement_counts": {"received": 2, "sold": 1}},
    {"movement_total": 40},
    {"movement_counts": {"received": 2, "sold": 3, "adjusted": 1}, "movement_total": 4},
])
def test_counters_that_do_not_add_up_to_their_total_are_refused_by_the_database(stocked, change):
    """The default pass compares only the counters' total with the ledger: the table holds the counters to it."""
    with pytest.raises(IntegrityError), transaction.atomic():
        StockItem.objects.filter(pk=stocked.pk).update(**change)
    item = StockItem.objects.get(pk=stocked.pk)
    assert (item.movement_counts, item.movement_total) == ({"received": 2, "sold": 1, "adjusted": 1}, 4)


def test_counters_of_the_wrong_action_are_found_by_deep_and_fixed(stocked):
    """Counters with the right total but one movement booked under another action pass the checksum (it
    compares totals: one aggregate less per movement) and are seen by the exact pass, action by action."""
    assert StockItem.objects.get(pk=stocked.pk).movement_counts == {"received": 2, "sold": 1, "adjusted": 1}
    set_counters(stocked, {"received": 3, "sold": 1})
    assert recount().drifts == []
    [drift] = recount(deep=True).drifts
    assert (drift.item_id, drift.problems) == (stocked.pk, ["movement counts"])

    code, out = run("--deep", "--fix")
    assert code == 0 and "Fixed 1" in out
    assert StockItem.objects.get(pk=stocked.pk).movement_counts == {"received": 2, "sold": 1, "adjusted": 1}
    assert_invariants(stocked)


def test_a_middle_value_figure_is_found_by_deep_and_fixed(stocked):
    """A wrong value_in_stock_after in a row other than the newest breaks no checksum: checking it takes
    Decimal arithmetic on every movement, which the default pass cannot afford (see services.recount)."""
    before = [m.value_in_stock_after for m in ledger(stocked)]
    assert before[1] == Decimal("1350.00")  # 50 @ 15 + 30 @ 20
    set_column(ledger(stocked)[1], "value_in_stock_after", "1400.00")
    [drift] = recount(deep=True).drifts
    assert (drift.item_id, drift.bad_rows, drift.problems) == (stocked.pk, 1, ["running figures"])

    code, out = run("--deep", "--fix")
    assert code == 0 and "Fixed 1" in out
    assert [m.value_in_stock_after for m in ledger(stocked)] == before
    assert_invariants(stocked)


def test_ranks_out_of_date_order_are_found_by_deep_and_fixed(stocked):
    # Two movements' dates swapped: every rank, balance and value still agrees with the others, only not
    # with (movement_date, id) order, which only a sort (the window of the exact pass) can see.
    rows = ledger(stocked)
    set_column(rows[1], "movement_date", rows[2].movement_date)
    set_column(rows[2], "movement_date", rows[1].movement_date)

    [drift] = recount(deep=True).drifts
    assert drift.item_id == stocked.pk and drift.bad_rows == 2 and "running figures" in drift.problems
    assert run("--deep")[0] == 1

    code, out = run("--deep", "--fix")
    assert code == 0 and "Fixed 1" in out
    assert_invariants(stocked)
    assert [(m.quantity, m.rank, m.balance_after) for m in ledger(stocked)] == [
        (50, 1, 50), (-60, 2, -10), (30, 3, 20), (5, 4, 25)]


def test_a_consistent_ledger_with_roundings_raises_no_suspect(settings):
    """Unit costs with 4 places, averages, shortfalls and transfers: figures that are rounded, and yet
    no checksum may flag a consistent item (each one flagged costs a window over its ledger)."""
    for method in ("fifo", "average"):
        settings.STOCKROOM_VALUATION = method
        source, destination = StockLocationFactory(), StockLocationFactory()
        variant = VariantFactory(cost_price=None)
        item = StockItemFactory(stock_location=source, variant=variant, backorderable=True)
        services.receive(item, 3, value_per_unit="10.3333")
        services.receive(item, 7, value_per_unit="0.0007")
        services.sell(item, 4)
        services.transfer(source, destination, [(variant, 3)])
        services.sell(item, 9)  # 6 short
        services.receive(item, 11)  # no cost given: the running average
        services.adjust(item, -2)
        # This method's items only: the other method's ledger is not valued by this one's rules.
        ids = list(StockItem.objects.filter(variant=variant).values_list("pk", flat=True))
        report = recount(item_ids=ids)
        assert report.drifts == [] and report.suspects == 0, method
        assert recount(item_ids=ids, deep=True).drifts == []


def test_a_checksum_of_its_own_is_reported_under_its_name(stocked, monkeypatch):
    """Where a further per-item check of the movements goes: an aggregate over their figures and the
    condition it fails on. The exact pass does not know it, so it is reported by its name, by default and
    under --deep."""
    from inventory.selectors import recount_checks

    checksums = recount_checks._checksums
    stale = recount_checks.Checksum("stale stamps", "c.stale > 0",
                                    ("SUM(CASE WHEN f.updated_at < '2000-01-01' THEN 1 ELSE 0 END) AS stale",))
    monkeypatch.setattr(recount_checks, "_checksums", lambda: [*checksums(), stale])
    assert recount().drifts == []

    set_column(ledger(stocked)[2], "updated_at", "1999-12-31 00:00:00+00:00")
    for deep in (False, True):
        [drift] = recount(deep=deep).drifts
        assert (drift.item_id, drift.problems, drift.bad_rows) == (stocked.pk, ["stale stamps"], 0)
    code, out = run()
    assert code == 1 and "stale stamps" in out
