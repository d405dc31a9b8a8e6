"""`manage.py apply_count FILE.csv --location CODE [--reason TEXT] [--dry-run]`: a physical count becomes
`counted` movements, all or nothing.

The CSV (UTF-8) has a header row with `sku` and `counted_quantity` (other columns are ignored); FILE may be
`-` for standard input. Every row is checked first (lines that are not UTF-8, missing columns, unknown sku,
a quantity that is not a whole number or is negative, a sku counted twice) and every problem is printed
with its line number; then nothing is written and the exit status is 1 (2 for an unknown location or a
missing file). Otherwise the whole count is applied in one transaction through `inventory.services.counts`
(the same code as `POST /api/v1/inventory/adjustments`), and a summary is printed. `--dry-run` prints the
changes the count would make and writes nothing.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from django.core.management.base import CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from inventory.management.base import (
    USAGE,
    ProgressLines,
    Refused,
    StockroomCommand,
    UsageError,
    location_by_code,
)
from inventory.models import StockItem, StockLocation, Variant
from inventory.services.counts import (
    LOOKUP_CHUNK,
    CountBatch,
    CountRejected,
    CountRow,
    RowProblem,
    apply_counts,
    find_problems,
    parse_counted,
)

SKU = "sku"
COUNTED = "counted_quantity"


class CountFileError(CommandError):
    """The file as a whole cannot be read as a count."""


BOM = b"\xef\xbb\xbf"  # spreadsheets often save a byte-order mark before the header


def decode_lines(data: bytes) -> tuple[str, list[RowProblem]]:
    """The file's text, and a problem for each line that is not UTF-8 (a Latin-1 export, say), numbered as
    the CSV reader numbers lines: decoding line by line, rather than in the reader's buffered chunks, is
    what makes the number the right one."""
    data = data.removeprefix(BOM)
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    problems, lines = [], []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            byte = raw[exc.start]
            problems.append(RowProblem(number, "", f"is not UTF-8 text (byte 0x{byte:02X} at column {exc.start + 1}); "
                                                   "save the file as UTF-8."))
            lines.append(raw.decode("utf-8", errors="replace"))
    return "\n".join(lines), problems


@contextmanager
def open_count_file(path: str) -> Iterator[tuple[TextIO, list[RowProblem]]]:
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory.") from None
    except AttributeError:  # a text-only standard input (tests)
        data = sys.stdin.read().encode()
    text, problems = decode_lines(data)
    yield io.StringIO(text, newline=None), problems


def read_count(handle: TextIO, location: StockLocation | None, reason: str) -> tuple[list[CountRow], list[RowProblem]]:
    """Rows keyed by line number, and every problem found in the file itself (line 1 is the header)."""
    reader = csv.DictReader(handle)
    try:
        header = reader.fieldnames
    except (csv.Error, UnicodeDecodeError) as exc:
        raise CountFileError(f"line 1: the file can't be read as CSV ({exc}).") from None
    if not header:
        raise CountFileError("The file is empty; expected a header row: sku,counted_quantity.")
    columns = {name.strip().lower(): name for name in header if name}
    missing = [name for name in (SKU, COUNTED) if name not in columns]
    if missing:
        raise CountFileError(f"line 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                             f"(the header must name sku and counted_quantity).")

    parsed: list[tuple[int, str, int | None]] = []
    problems: list[RowProblem] = []
    try:
        for record in reader:
            line = reader.line_num
            values = [v for v in record.values() if isinstance(v, str)]
            if not any(v.strip() for v in values):
                continue  # a blank line
            if any("\x00" in v for v in values):
                # PostgreSQL cannot compare text with a NUL: the row is refused before any lookup.
                problems.append(RowProblem(line, SKU, "contains a NUL character."))
                continue
            sku = (record.get(columns[SKU]) or "").strip()
            raw_count = record.get(columns[COUNTED])
            if not sku:
                problems.append(RowProblem(line, SKU, "the sku is missing."))
            counted = None
            try:
                counted = parse_counted(raw_count if raw_count is not None else "")
            except ValueError as exc:
                problems.append(RowProblem(line, COUNTED, f"counted quantity {exc}"))
            parsed.append((line, sku, counted))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise CountFileError(f"line {reader.line_num}: the file can't be read as CSV ({exc}).") from None

    variant_ids = _variant_ids({sku for _, sku, _ in parsed if sku})
    rows: list[CountRow] = []
    first_line: dict[str, int] = {}
    for line, sku, counted in parsed:
        variant_id = variant_ids.get(sku)
        if sku and variant_id is None:
            problems.append(RowProblem(line, SKU, f"unknown sku '{sku}'."))
        if sku in first_line:
            problems.append(RowProblem(line, SKU, f"sku '{sku}' is counted twice (first on line {first_line[sku]})."))
            variant_id = None  # reported here; keep the service from reporting it again
        elif sku:
            first_line[sku] = line
        rows.append(CountRow(key=line, variant_id=variant_id, location_id=location.pk if location else None,
                             counted=counted, reason=reason))
    if not parsed:
        raise CountFileError("The file has a header but no rows to apply.")
    return rows, problems


def _variant_ids(skus: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ordered = sorted(skus)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        found.update(Variant.objects.filter(sku__in=ordered[start:start + LOOKUP_CHUNK]).values_list("sku", "pk"))
    return found


class Command(StockroomCommand):
    help = "Apply a physical count (CSV: sku,counted_quantity) at one location as counted movements, all or nothing."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="CSV file with a header row sku,counted_quantity; '-' reads standard input.")
        parser.add_argument("--location", required=True, metavar="CODE",
                            help="Code of the stock location counted (any case).")
        parser.add_argument("--reason", default="", help="Note stored on every movement (default: 'Physical count').")
        parser.add_argument("--dry-run", action="store_true", help="Print what the count would change; write nothing.")

    def handle(self, *args, file: str, location: str, reason: str, dry_run: bool, **options) -> None:
        console = Console(file=self.stdout._out, highlight=False, soft_wrap=True)
        try:
            where, unknown_location = location_by_code(location), []
        except UsageError as exc:
            where, unknown_location = None, [str(exc)]
        reason = reason.strip() or "Physical count"
        source = "standard input" if file == "-" else file
        with open_count_file(file) as (handle, undecodable):
            try:
                rows, problems = read_count(handle, where, reason)
            except CountFileError as exc:
                for line in [*(f"{source}: {m}" for m in unknown_location), *self._lines(source, undecodable)]:
                    self.stderr.write(line)
                raise CommandError(f"{source}: {exc} Nothing was written.",
                                   returncode=USAGE if unknown_location else 1) from None
        problems = self._merge(undecodable, problems)
        if unknown_location:
            self._report(source, problems, extra=unknown_location)
        # Checked again inside apply_counts' transaction; checking here first keeps a doomed count from
        # drawing a progress bar.
        problems += find_problems(rows, row_label="line", reported={p.key for p in problems})
        if problems:
            self._report(source, problems)
        if dry_run:
            self._dry_run(console, source, where, rows)
            return
        try:
            with self._progress(console, len(rows)) as advance:
                batch = apply_counts(rows, row_label="line", on_result=advance)
        except CountRejected as exc:
            self._report(source, exc.problems)
        self._summary(console, source, where, batch)

    @staticmethod
    def _merge(undecodable: list[RowProblem], problems: list[RowProblem]) -> list[RowProblem]:
        """A line that is not UTF-8 is reported as that, not as the unknown sku its garbled text makes."""
        bad = {p.key for p in undecodable}
        return [*undecodable, *(p for p in problems if p.key not in bad)]

    @staticmethod
    def _lines(source: str, problems: list[RowProblem]) -> list[str]:
        return [f"{source}: line {p.key}: {p.message}" for p in sorted(problems, key=lambda p: p.key)]

    def _report(self, source: str, problems: list[RowProblem], extra: list[str] = ()) -> None:
        for message in extra:
            self.stderr.write(f"{source}: {message}")
        for line in self._lines(source, problems):
            self.stderr.write(line)
        count = len(problems) + len(extra)
        message = f"{count} problem{'s' if count != 1 else ''} found; nothing was written."
        raise CommandError(message, returncode=USAGE) if extra else Refused(message)

    @contextmanager
    def _progress(self, console: Console, total: int):
        if not self.is_terminal():
            yield _counter(ProgressLines(console.print, "Applying count", total))
            return
        progress = Progress(TextColumn("Applying count"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=console, transient=False)
        with progress:
            task = progress.add_task("count", total=total)
            yield lambda result: progress.advance(task)

    def _dry_run(self, console: Console, source: str, location: StockLocation, rows: list[CountRow]) -> None:
        """The changes the count would make, read without a lock or a write: a sale in the meantime may make
        the real run differ by that sale."""
        on_hand = dict(StockItem.objects.filter(stock_location=location, variant_id__in=[r.variant_id for r in rows])
                       .values_list("variant_id", "count_on_hand"))
        skus = dict(Variant.objects.filter(pk__in=[r.variant_id for r in rows]).values_list("pk", "sku"))
        changes = [(skus[r.variant_id], on_hand.get(r.variant_id, 0), r.counted) for r in rows
                   if on_hand.get(r.variant_id, 0) != r.counted]
        console.print(f"Dry run of the count at {location.code} from {source}: {len(rows)} rows, "
                      f"{len(changes)} item(s) would change. Nothing was written.")
        for sku, before, after in changes:
            console.print(f"  {sku}: {before} -> {after} ({after - before:+d})")

    def _summary(self, console: Console, source: str, location: StockLocation, batch: CountBatch) -> None:
        table = Table(title=f"Count {batch.reference} at {location.code} from {source}", show_header=False)
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_row("rows counted", str(len(batch.results)))
        table.add_row("items changed", str(len(batch.changed)))
        table.add_row("items unchanged", str(len(batch.results) - len(batch.changed)))
        table.add_row("units added", str(batch.units_added))
        table.add_row("units removed", str(batch.units_removed))
        console.print(table)
        for result in batch.changed:
            console.print(f"  {result.item.variant.sku}: {result.quantity_before} -> {result.quantity_after} "
                          f"({result.difference:+d})")


def _counter(tick: ProgressLines):
    done = 0

    def advance(result) -> None:
        nonlocal done
        done += 1
        tick(done)

    return advance
