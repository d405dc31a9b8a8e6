from __future__ import annotations

import pytest

from inventory.models import Action, StockItem, StockMovement
from inventory.services import InvalidMovement
from inventory.services.counts import (
    COUNT_RESOURCE_TYPE,
    CountRejected,
    CountRow,
    RowProblem,
    apply_counts,
    parse_counted,
)
from tests.factories import StockItemFactory, StockLocationFactory, UserFactory, VariantFactory


def snapshot():
    return (StockMovement.objects.count(), StockItem.objects.count(),
            list(StockItem.objects.order_by("pk").values_list("pk", "count_on_hand", "last_counted_at")))


@pytest.fixture
def shelf(db):
    location = StockLocationFactory(code="MAIN")
    a = StockItemFactory(stock_location=location, count_on_hand=10, value_per_unit="1.00")
    b = StockItemFactory(stock_location=location, count_on_hand=4, value_per_unit="2.00")
    return location, a, b


class TestParseCounted:
    @pytest.mark.parametrize("raw, expected", [(0, 0), (7, 7), ("12", 12), (" 3 ", 3), (4.0, 4)])
    def test_whole_numbers(self, raw, expected):
        assert parse_counted(raw) == expected

    @pytest.mark.parametrize("raw, message", [(-1, "negative"), ("-2", "negative"), ("1.5", "whole number"),
                                              (1.5, "whole number"), ("abc", "whole number"), ("", "missing"),
                                              (None, "whole number"), (True, "whole number"),
                                              (10**10, "at most")])
    def test_refusals(self, raw, message):
        with pytest.raises(ValueError, match=message):
            parse_counted(raw)


@pytest.mark.django_db
class TestApplyCounts:
    def test_each_row_becomes_a_counted_movement_of_the_difference(self, shelf):
        location, a, b = shelf
        user = UserFactory()
        batch = apply_counts([CountRow(0, a.variant_id, location.pk, 7, "cycle count"),
                              CountRow(1, b.variant_id, location.pk, 4)], user=user)
        first, second = batch.results
        assert (first.quantity_before, first.quantity_after, first.difference) == (10, 7, -3)
        assert first.movement.action == Action.COUNTED and first.movement.quantity == -3
        assert first.movement.notes == "cycle count" and first.movement.created_by == user
        assert first.movement.resource_type == COUNT_RESOURCE_TYPE
        assert first.movement.resource_id == batch.reference
        assert second.movement is None and second.difference == 0  # the count matched
        assert [r.row.key for r in batch.changed] == [0]
        assert (batch.units_added, batch.units_removed) == (0, 3)
        a.refresh_from_db()
        b.refresh_from_db()
        assert (a.count_on_hand, a.value_in_stock) == (7, 7)
        assert a.last_counted_at is not None and b.last_counted_at is not None  # stamped even when unchanged

    def test_missing_stock_item_is_created(self, shelf):
        location, _, _ = shelf
        variant = VariantFactory()
        batch = apply_counts([CountRow(0, variant.pk, location.pk, 6)])
        item = StockItem.objects.get(stock_location=location, variant=variant)
        assert item.count_on_hand == 6 and batch.results[0].item.pk == item.pk

    def test_every_problem_reported_and_nothing_written(self, shelf):
        location, a, b = shelf
        before = snapshot()
        rows = [
            CountRow(0, a.variant_id, location.pk, 3),
            CountRow(1, 999_999, location.pk, 3),
            CountRow(2, b.variant_id, 888_888, 3),
            CountRow(3, b.variant_id, location.pk, -1),
            CountRow(4, a.variant_id, location.pk, 5),
            CountRow(5, None, location.pk, 1),
        ]
        with pytest.raises(CountRejected) as raised:
            apply_counts(rows, row_label="row")
        problems = {(p.key, p.field) for p in raised.value.problems}
        assert problems == {(1, "product_id"), (2, "warehouse_id"), (3, "actual_quantity"), (4, "product_id"),
                            (5, "product_id")}
        assert "5 invalid rows (1, 2, 3, 4, 5)" in raised.value.message
        assert "as row 0" in next(p.message for p in raised.value.problems if p.key == 4)
        assert snapshot() == before

    def test_known_problems_are_reported_with_the_rest(self, shelf):
        location, a, _ = shelf
        before = snapshot()
        with pytest.raises(CountRejected) as raised:
            apply_counts([CountRow(2, a.variant_id, location.pk, None), CountRow(3, 777_777, location.pk, 1)],
                         known_problems=[RowProblem(2, "counted_quantity", "'x' is not a whole number.")],
                         row_label="line")
        assert [(p.key, p.field) for p in raised.value.problems] == [(2, "counted_quantity"), (3, "product_id")]
        assert raised.value.message.startswith("2 invalid lines (2, 3)")
        assert snapshot() == before

    def test_a_failure_midway_rolls_everything_back(self, shelf):
        location, a, b = shelf
        before = snapshot()

        def crash_on_second(result):
            if result.row.key == 1:
                raise RuntimeError("disk full")

        with pytest.raises(RuntimeError):
            apply_counts([CountRow(0, a.variant_id, location.pk, 1), CountRow(1, b.variant_id, location.pk, 1)],
                         on_result=crash_on_second)
        assert snapshot() == before

    def test_out_of_range_count_is_a_row_problem(self, shelf):
        location, a, _ = shelf
        with pytest.raises(CountRejected) as raised:
            apply_counts([CountRow(0, a.variant_id, location.pk, 1_000_000_001)])
        assert "at most" in raised.value.problems[0].message

    def test_empty_count_refused(self, db):
        with pytest.raises(InvalidMovement):
            apply_counts([])

    def test_progress_callback_sees_every_row(self, shelf):
        location, a, b = shelf
        seen = []
        apply_counts([CountRow(0, a.variant_id, location.pk, 1), CountRow(1, b.variant_id, location.pk, 2)],
                     on_result=lambda result: seen.append(result.row.key))
        assert seen == [0, 1]
