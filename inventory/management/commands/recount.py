"""`manage.py recount [--location CODE] [--deep] [--fix] [--dry-run]`: compare cached stock figures with the ledger.

Exit code 1 when drift is found and not fixed (also with --dry-run), 0 otherwise; 2 for an unknown location,
3 when the database is unreachable or not migrated (inventory/management/base.py).
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from inventory.management.base import REFUSED, ProgressLines, StockroomCommand, location_by_code
from inventory.services.recount import RecountReport, recount


class _Stream:
    """Lets rich write through Django's OutputWrapper (which would add a newline to every write)."""

    def __init__(self, wrapper) -> None:
        self._wrapper = wrapper

    def write(self, text: str) -> int:
        self._wrapper.write(text, ending="")
        return len(text)

    def flush(self) -> None:
        self._wrapper.flush()

    def isatty(self) -> bool:
        return self._wrapper.isatty()


class Command(StockroomCommand):
    help = (
        "Check count_on_hand, running balances, ranks and valuation of stock items against the movement "
        "ledger: checksums in one aggregate pass, then an exact per-movement check of the items that fail "
        "one (of every item with --deep). Exit code 1 when drift is found without --fix."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--location", metavar="CODE", help="only this stock location (its code, any case)")
        parser.add_argument("--deep", action="store_true",
                            help="check every movement of every item in ledger order (a window per item), not only "
                                 "the items whose checksums fail: also finds wrong value figures in older movements, "
                                 "wrong cost layers and ranks out of (date, id) order")
        parser.add_argument("--fix", action="store_true",
                            help="repair drifted items: counts, balance_after/rank, valuation and cost layers")
        parser.add_argument("--dry-run", action="store_true", help="detect and report only; never write")

    def handle(self, *args, location: str | None, deep: bool, fix: bool, dry_run: bool, **options) -> None:
        stream = _Stream(self.stdout)
        terminal = self.is_terminal()
        # Off a terminal rich would wrap tables at 80 columns and drop colour codes into files; keep it plain.
        console = Console(file=stream, width=None if terminal else 120, no_color=not terminal,
                          force_terminal=terminal, highlight=False)
        if location is not None:
            location = location_by_code(location).code
        report = self._run(console, location, deep, fix, dry_run, show_bar=terminal)
        self._print(console, report, fix=fix, dry_run=dry_run)
        if report.drifts and not report.fixed:
            sys.exit(REFUSED)

    def _run(self, console: Console, location: str | None, deep: bool, fix: bool, dry_run: bool, *,
             show_bar: bool) -> RecountReport:
        if not show_bar:
            # A live bar is noise in a log: a line every few seconds per location, and when it is done.
            lines: dict[str, ProgressLines] = {}

            def progress(code: str, done: int, total: int) -> None:
                if code not in lines:
                    lines[code] = ProgressLines(console.print, f"{code}: stock items checked", total)
                lines[code](done)

            return recount(location_code=location, deep=deep, fix=fix, dry_run=dry_run, progress=progress)

        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        tasks: dict[str, TaskID] = {}
        with Progress(*columns, console=console) as bar:
            def progress(code: str, done: int, total: int) -> None:
                if code not in tasks:
                    tasks[code] = bar.add_task(code, total=total)
                bar.update(tasks[code], completed=done)

            return recount(location_code=location, deep=deep, fix=fix, dry_run=dry_run, progress=progress)

    def _print(self, console: Console, report: RecountReport, *, fix: bool, dry_run: bool) -> None:
        scope = f"{report.items_checked} stock items at {len(report.locations)} location(s)"
        if not report.drifts:
            console.print(f"No drift: {scope} agree with the ledger.")
            return
        table = Table(title=f"Drift in {len(report.drifts)} of {scope}")
        for name, justify in [("Location", "left"), ("SKU", "left"), ("Item", "right"),
                              ("On hand\ncached / ledger", "right"), ("Bad\nrows", "right"),
                              ("Value\ncached / ledger / layers", "right"), ("Problems", "left")]:
            # Fold rather than truncate: a narrow terminal must still show every figure.
            table.add_column(name, justify=justify, overflow="fold")
        for d in report.drifts:
            table.add_row(d.location_code, d.sku, str(d.item_id), f"{d.cached_count} / {d.ledger_count}",
                          str(d.bad_rows), f"{d.cached_value} / {d.ledger_value} / {d.layer_value}",
                          ", ".join(d.problems))
        console.print(table)
        if report.fixed:
            console.print(f"Fixed {len(report.drifts)} stock item(s): rebuilt from the ledger.")
        elif dry_run and fix:
            console.print("Dry run: nothing was written.")
        else:
            console.print("Run with --fix to rebuild them from the ledger.")
