"""`manage.py export_levels [--location CODE] [--output FILE]`: stock levels as CSV, one row per stock
item (location, sku, product, on hand, allocated, available, value, average cost, reorder point,
backorderable, last counted), streamed in chunks (constant memory). Standard output by default."""

from __future__ import annotations

from inventory.management.base import StockroomCommand
from inventory.management.commands._export import location_id, output, stdout_handle, write_lines
from inventory.selectors.exports import csv_lines, level_header, level_rows, live_items


class Command(StockroomCommand):
    quiet_stdout = False  # the CSV is the command's product, written whatever the verbosity
    help = "Export stock levels (every stock item, or one location's) as CSV."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--location", metavar="CODE", help="Only this location's items (code, any case).")
        parser.add_argument("--output", "-o", default="-", metavar="FILE", help="Write here ('-': standard output).")

    def handle(self, *args, location: str | None, output: str, **options) -> None:
        items = live_items()
        where = location_id(location)
        if where is not None:
            items = items.filter(stock_location_id=where)
        with _output(output, self) as handle:
            rows = write_lines(csv_lines(level_header(), level_rows(items)), handle)
        if output != "-" and options["verbosity"] > 0:
            self.stderr.write(f"{rows} stock items written to {output}.")


def _output(path: str, command):
    return output(path, stdout_handle(command))
