"""Exit codes and messages every management command shares (inventory/management/base.py): 0 done,
1 refused (drift, rows), 2 usage, 3 database unreachable or not migrated; one line on stderr without a
traceback or an internal class name; -v0 quiet; progress lines off a terminal; location codes in any case;
apply_count --dry-run; the right line numbers for a file that is not UTF-8."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inventory.management import base
from inventory.models import StockItem, StockMovement
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [["recount"], ["apply_count", "-", "--location", "MAIN"], ["seed_demo"],
            ["correct", "delete", "1"], ["create_api_key", "robot"]]


def manage(*args: str, database_url: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_an_unreachable_database_is_exit_3_with_one_line(command):
    result = manage(*command, database_url="postgres://postgres@127.0.0.1:1/nothing")
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{command[0]}: the database is unavailable"), result.stderr
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_an_unmigrated_database_is_exit_3_with_one_line(command, tmp_path):
    result = manage(*command, database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert result.returncode == 3, result.stderr
    assert re.fullmatch(rf"{command[0]}: the database is not migrated \(\d+ migration\(s\) to apply\): "
                        r"run `manage.py migrate` first.\n", result.stderr), result.stderr


def test_a_usage_error_is_exit_2():
    result = manage("recount", "--no-such-option", database_url="postgres://postgres@127.0.0.1:1/nothing")
    assert result.returncode == 2
    assert "usage:" in result.stderr


@pytest.fixture
def shelf(db):
    main = StockLocationFactory(code="MAIN")
    items = {sku: StockItemFactory(stock_location=main, variant=VariantFactory(sku=sku), count_on_hand=qty,
                                   value_per_unit="1.00")
             for sku, qty in (("ROR-00011", 10), ("ROR-00012", 4))}
    return main, items


def test_location_codes_match_in_any_case(shelf, tmp_path):
    path = tmp_path / "count.csv"
    path.write_text("sku,counted_quantity\nROR-00011,7\n")
    call_command("apply_count", str(path), "--location", "main", stdout=io.StringIO(), stderr=io.StringIO())
    assert StockItem.objects.get(variant__sku="ROR-00011").count_on_hand == 7
    out = io.StringIO()
    call_command("recount", "--location", "Main", stdout=out)
    assert "No drift: 2 stock items" in out.getvalue()


def test_an_unknown_location_is_a_usage_error(shelf):
    with pytest.raises(CommandError) as refused:
        call_command("recount", "--location", "ATTIC", stdout=io.StringIO())
    assert refused.value.returncode == 2
    assert str(refused.value) == "there is no stock location with code 'ATTIC'."


def test_quiet_prints_nothing(shelf, tmp_path):
    out = io.StringIO()
    call_command("recount", "-v0", stdout=out)
    path = tmp_path / "count.csv"
    path.write_text("sku,counted_quantity\nROR-00011,7\n")
    call_command("apply_count", str(path), "--location", "MAIN", verbosity=0, stdout=out)
    assert out.getvalue() == ""


def test_progress_is_a_line_at_a_time_off_a_terminal(shelf, tmp_path, monkeypatch):
    monkeypatch.setattr(base, "PROGRESS_SECONDS", 0)
    out = io.StringIO()
    call_command("recount", stdout=out)
    assert "MAIN: stock items checked: 0/2" in out.getvalue()
    assert "MAIN: stock items checked: 2/2" in out.getvalue()
    path = tmp_path / "count.csv"
    path.write_text("sku,counted_quantity\nROR-00011,7\nROR-00012,1\n")
    out = io.StringIO()
    call_command("apply_count", str(path), "--location", "MAIN", stdout=out)
    assert "Applying count: 1/2" in out.getvalue() and "Applying count: 2/2" in out.getvalue()


def test_apply_count_dry_run_shows_the_changes_and_writes_nothing(shelf, tmp_path):
    path = tmp_path / "count.csv"
    path.write_text("sku,counted_quantity\nROR-00011,7\nROR-00012,4\n")
    out, before = io.StringIO(), StockMovement.objects.count()
    call_command("apply_count", str(path), "--location", "MAIN", "--dry-run", stdout=out)
    assert "1 item(s) would change. Nothing was written." in out.getvalue()
    assert "ROR-00011: 10 -> 7 (-3)" in out.getvalue()
    assert "ROR-00012" not in out.getvalue()
    assert StockMovement.objects.count() == before
    assert StockItem.objects.get(variant__sku="ROR-00011").count_on_hand == 10


def test_a_latin1_file_names_the_lines_that_are_not_utf8(shelf, tmp_path):
    # The bad bytes lie past the text reader's first buffer (a long note, blank lines), where the line
    # numbers went wrong.
    rows = ["ROR-00011,7," + "x" * 10_000, *[""] * 1497, "CAFÉ-1,3,", *[""] * 299, "ROR-00012,5,révisé"]
    path = tmp_path / "count.csv"
    path.write_bytes(("sku,counted_quantity,note\n" + "\n".join(rows) + "\n").encode("latin-1"))
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("apply_count", str(path), "--location", "MAIN", stdout=io.StringIO(), stderr=err)
    assert refused.value.returncode == 1
    assert refused.value.args[0] == "2 problems found; nothing was written."  # no sku errors from garbled text
    lines = [line for line in err.getvalue().splitlines() if "UTF-8" in line]
    assert lines == [f"{path}: line 1500: is not UTF-8 text (byte 0xC9 at column 4); save the file as UTF-8.",
                     f"{path}: line 1800: is not UTF-8 text (byte 0xE9 at column 14); save the file as UTF-8."]
    assert StockMovement.objects.count() == 2  # the factory's opening receipts only


def test_a_nul_in_a_csv_row_refuses_that_row(shelf, tmp_path):
    path = tmp_path / "count.csv"
    path.write_text("sku,counted_quantity\nROR-00011,7\nROR\x00-1,3\n")
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("apply_count", str(path), "--location", "MAIN", stdout=io.StringIO(), stderr=err)
    assert refused.value.returncode == 1
    assert err.getvalue().splitlines() == [f"{path}: line 3: contains a NUL character."]
    assert StockItem.objects.get(variant__sku="ROR-00011").count_on_hand == 10


def test_a_nul_in_an_argument_is_a_usage_error(shelf):
    with pytest.raises(CommandError) as refused:
        call_command("correct", "backdate", "--sku", "ROR\x00", "--location", "MAIN", "--action", "received",
                     "--quantity", "1", "--date", "2025-01-01T00:00Z", stdout=io.StringIO())
    assert refused.value.returncode == 2
    assert "--sku" in str(refused.value)


@pytest.mark.parametrize("moment", ["0001-01-01T00:00+05:00", "1899-12-31T23:59Z"])
def test_a_correction_before_1900_is_refused_not_a_traceback(shelf, moment):
    with pytest.raises(CommandError, match="can't be before 1900-01-01"):
        call_command("correct", "backdate", "--sku", "ROR-00011", "--location", "MAIN", "--action", "received",
                     "--quantity", "1", "--date", moment, stdout=io.StringIO())


def test_messages_name_no_internal_class(shelf):
    result = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("correct", "delete", "999999", stdout=result)
    assert "Error" not in str(refused.value) and "DoesNotExist" not in str(refused.value)
