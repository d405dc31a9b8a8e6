from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inventory.models import Action, StockItem, StockMovement
from inventory.services.counts import COUNT_RESOURCE_TYPE
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf():
    main = StockLocationFactory(code="MAIN")
    StockLocationFactory(code="SHOP")
    items = {
        sku: StockItemFactory(stock_location=main, variant=VariantFactory(sku=sku), count_on_hand=qty,
                              value_per_unit="1.00")
        for sku, qty in (("ROR-00011", 10), ("ROR-00012", 4), ("ROR-00013", 0))
    }
    return main, items


def state():
    return (StockMovement.objects.count(), StockItem.objects.count(),
            list(StockItem.objects.order_by("pk").values_list("count_on_hand", "last_counted_at")))


def run(*args, stdin: str | None = None, monkeypatch=None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    call_command("apply_count", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path: Path, text: str, name: str = "count.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_applies_the_count_in_one_go(shelf, tmp_path):
    main, items = shelf
    path = write(tmp_path, "sku,counted_quantity\nROR-00011,7\nROR-00012,4\nROR-00013,12\n")
    out, err = run(path, "--location", "MAIN", "--reason", "Quarterly count")
    assert err == ""
    for sku, expected in (("ROR-00011", 7), ("ROR-00012", 4), ("ROR-00013", 12)):
        item = items[sku]
        item.refresh_from_db()
        assert item.count_on_hand == expected and item.last_counted_at is not None
    movements = StockMovement.objects.filter(action=Action.COUNTED).order_by("id")
    assert [(m.stock_item.variant.sku, m.quantity, m.notes) for m in movements] == [
        ("ROR-00011", -3, "Quarterly count"), ("ROR-00013", 12, "Quarterly count")]
    assert {m.resource_type for m in movements} == {COUNT_RESOURCE_TYPE}
    assert len({m.resource_id for m in movements}) == 1
    assert "rows counted" in out and "3" in out
    assert "units added" in out and "12" in out and "units removed" in out
    assert "ROR-00011: 10 -> 7 (-3)" in out
    assert "Applying count" in out  # the progress bar


def test_default_reason_and_extra_columns_and_blank_lines(shelf, tmp_path):
    _, items = shelf
    path = write(tmp_path, "\ufeffSKU, Counted_Quantity ,bin\nROR-00012,6,A1\n\n")
    run(path, "--location", "MAIN")
    movement = StockMovement.objects.get(action=Action.COUNTED)
    assert (movement.quantity, movement.notes) == (2, "Physical count")


def test_reads_standard_input(shelf, monkeypatch):
    _, items = shelf
    out, _ = run("-", "--location", "MAIN", stdin="sku,counted_quantity\nROR-00012,1\n", monkeypatch=monkeypatch)
    items["ROR-00012"].refresh_from_db()
    assert items["ROR-00012"].count_on_hand == 1
    assert "standard input" in out


def test_counts_a_sku_the_location_never_stocked(shelf, tmp_path):
    VariantFactory(sku="NEW-1")
    run(write(tmp_path, "sku,counted_quantity\nNEW-1,5\n"), "--location", "SHOP")
    assert StockItem.objects.get(variant__sku="NEW-1", stock_location__code="SHOP").count_on_hand == 5


def test_every_problem_is_reported_with_its_line_and_nothing_is_written(shelf, tmp_path):
    before = state()
    path = write(tmp_path, "\n".join([
        "sku,counted_quantity",  # line 1
        "ROR-00011,8",  # 2: fine
        "NOPE-1,3",  # 3: unknown sku
        "ROR-00012,abc",  # 4: not a number
        "ROR-00013,-2",  # 5: negative
        "ROR-00011,9",  # 6: counted twice
        ",4",  # 7: missing sku
        "ROR-00012,",  # 8: missing quantity
        "ROR-00013,2.5",  # 9: not whole
    ]) + "\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="9 problems found; nothing was written"):
        call_command("apply_count", path, "--location", "MAIN", stdout=io.StringIO(), stderr=err)
    assert [line.removeprefix(f"{path}: ") for line in err.getvalue().splitlines()] == [
        "line 3: unknown sku 'NOPE-1'.",
        "line 4: counted quantity 'abc' is not a whole number.",
        "line 5: counted quantity can't be negative (-2).",
        "line 6: sku 'ROR-00011' is counted twice (first on line 2).",
        "line 7: the sku is missing.",
        "line 8: counted quantity is missing.",
        "line 8: sku 'ROR-00012' is counted twice (first on line 4).",
        "line 9: counted quantity '2.5' is not a whole number.",
        "line 9: sku 'ROR-00013' is counted twice (first on line 5).",
    ]
    assert state() == before


def test_problem_lines_in_stderr(shelf, tmp_path, capsys):
    path = write(tmp_path, "sku,counted_quantity\nROR-00011,8\nNOPE-1,3\nROR-00012,abc\nROR-00011,1\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("apply_count", path, "--location", "MAIN", stdout=io.StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert lines == [
        f"{path}: line 3: unknown sku 'NOPE-1'.",
        f"{path}: line 4: counted quantity 'abc' is not a whole number.",
        f"{path}: line 5: sku 'ROR-00011' is counted twice (first on line 2).",
    ]


def test_unknown_location_is_reported_with_the_row_problems(shelf, tmp_path):
    before = state()
    err = io.StringIO()
    path = write(tmp_path, "sku,counted_quantity\nNOPE-1,3\n")
    with pytest.raises(CommandError, match="2 problems") as refused:
        call_command("apply_count", path, "--location", "ATTIC", stdout=io.StringIO(), stderr=err)
    assert refused.value.returncode == 2  # a usage error: the location named does not exist
    assert err.getvalue().splitlines() == [f"{path}: there is no stock location with code 'ATTIC'.",
                                           f"{path}: line 2: unknown sku 'NOPE-1'."]
    assert state() == before


@pytest.mark.parametrize("text, message", [
    ("sku,quantity\nROR-00011,1\n", "missing column counted_quantity"),
    ("code,count\nROR-00011,1\n", "missing columns sku, counted_quantity"),
    ("", "empty"),
    ("sku,counted_quantity\n", "no rows"),
])
def test_file_level_problems(shelf, tmp_path, text, message):
    before = state()
    with pytest.raises(CommandError, match=message):
        run(write(tmp_path, text), "--location", "MAIN")
    assert state() == before


def test_missing_file(shelf, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run(str(tmp_path / "absent.csv"), "--location", "MAIN")
