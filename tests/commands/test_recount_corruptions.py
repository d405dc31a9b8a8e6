"""`recount`'s checksum pass: each corruption of the database alone, found by default (or by `--deep` where
the default pass does not look) and repaired by `--fix`."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from inventory import services
from inventory.models import StockItem, StockMovement
from inventory.services.recount import recount
from tests.commands.recount_support import (
    corrupt_count,
    delete_movement,
    duplicate_movement,
    ledger,
    raw,
    run,
    set_column,
)
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory
from tests.services.invariants import assert_invariants

pytestmark = pytest.mark.django_db


# --- the checksum pass: each corruption alone, found by default and repaired by --fix ---------------------

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
