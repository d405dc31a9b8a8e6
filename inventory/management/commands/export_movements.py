"""`manage.py export_movements [--from DAY] [--to DAY] [--location CODE] [--output FILE]`: the ledger as
CSV, oldest first, with each movement's running figures. Days are YYYY-MM-DD in TIME_ZONE, both
included. Streamed in keyset chunks: constant memory and short queries at any ledger size."""

from __future__ import annotations

from django.core.management.base import CommandError

from inventory.management.base import StockroomCommand
from inventory.management.commands._export import USAGE, day_start, location_id, output, stdout_handle, write_lines
from inventory.selectors.exports import MOVEMENT_COLUMNS, csv_lines, movement_rows, movements_between


class Command(StockroomCommand):
    quiet_stdout = False  # the CSV is the command's product, written whatever the verbosity
    help = "Export stock movements (a date range, one location or all) as CSV."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--from", dest="start", metavar="DAY", help="First day included (YYYY-MM-DD).")
        parser.add_argument("--to", dest="end", metavar="DAY", help="Last day included (YYYY-MM-DD).")
        parser.add_argument("--location", metavar="CODE", help="Only this location's movements (code, any case).")
        parser.add_argument("--output", "-o", default="-", metavar="FILE", help="Write here ('-': standard output).")

    def handle(self, *args, start, end, location, output: str, **options) -> None:
        first, stop = day_start(start, "--from"), day_start(end, "--to", after=True)
        if first is not None and stop is not None and stop <= first:
            raise CommandError("--to is before --from.", returncode=USAGE)
        movements = movements_between(first, stop, location_id(location))
        with _output(output, self) as handle:
            rows = write_lines(csv_lines(MOVEMENT_COLUMNS, movement_rows(movements)), handle)
        if output != "-" and options["verbosity"] > 0:
            self.stderr.write(f"{rows} movements written to {output}.")


def _output(path: str, command):
    return output(path, stdout_handle(command))
