"""CSV exports of stock levels and of movements, read in keyset-paginated chunks.

Each chunk is one short query (no server-side cursor, no statement that runs as long as the export),
so memory stays constant and the request or command holds no lock whatever the size of the ledger:
movements in (movement_date, id) order continue after the last row of the previous chunk, which the
`movement_date` (or `stock_location, movement_date, id`) index finds directly. Every export has a
header row; money is written as in the database (decimal strings), dates in ISO 8601 with their
offset.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone

from inventory.models import StockItem, StockMovement

CHUNK = 2000

LEVEL_COLUMNS = {
    "location": "stock_location__code",
    "sku": "variant__sku",
    "product": "variant__product__name",
    "count_on_hand": "count_on_hand",
    "allocated": "quantity_allocated",
    "value_in_stock": "value_in_stock",
    "average_cost": "average_cost",
    "reorder_point": "reorder_point",
    "backorderable": "backorderable",
    "last_counted_at": "last_counted_at",
}
MOVEMENT_COLUMNS = {
    "id": "id",
    "movement_date": "movement_date",
    "location": "stock_location__code",
    "sku": "stock_item__variant__sku",
    "action": "action",
    "quantity": "quantity",
    "balance_after": "figures__balance_after",
    "unit_cost": "figures__value_per_unit",
    "total_cost": "figures__total_cost",
    "value_in_stock_after": "figures__value_in_stock_after",
    "order_no": "caused_by_order_no",
    "resource_type": "resource_type",
    "resource_id": "resource_id",
    "transfer": "transfer__number",
    "notes": "notes",
    "created_by": "created_by__username",
}
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, (int, Decimal)):
        return str(value)
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Line:
    """A file-like object whose write() returns what it was given: csv.writer then yields lines."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])


def level_rows(items: QuerySet[StockItem], *, chunk: int = CHUNK) -> Iterator[tuple]:
    """(location, sku, product, on hand, allocated, available, ...) per item, in id order."""
    fields = list(LEVEL_COLUMNS.values())
    query = items.order_by("pk").values_list("pk", *fields)
    last = 0
    while True:
        rows = list(query.filter(pk__gt=last)[:chunk])
        for _pk, *values in rows:
            on_hand, allocated = values[3], values[4]
            yield (*values[:5], on_hand - allocated, *values[5:])
        if len(rows) < chunk:
            return
        last = rows[-1][0]


def level_header() -> list[str]:
    names = list(LEVEL_COLUMNS)
    return [*names[:5], "available", *names[5:]]


def live_items() -> QuerySet[StockItem]:
    return StockItem.objects.filter(deleted_at__isnull=True)


def movement_rows(movements: QuerySet[StockMovement], *, chunk: int = CHUNK) -> Iterator[tuple]:
    """The movements' columns (MOVEMENT_COLUMNS), oldest first: (movement_date, id) order."""
    query = movements.order_by("movement_date", "pk").values_list(*MOVEMENT_COLUMNS.values())
    after = None
    while True:
        page = query
        if after is not None:
            # The first condition bounds an index range; the second leaves out what the last chunk wrote.
            page = query.filter(Q(movement_date__gte=after[0]),
                                Q(movement_date__gt=after[0]) | Q(pk__gt=after[1]))
        rows = list(page[:chunk])
        yield from rows
        if len(rows) < chunk:
            return
        after = (rows[-1][1], rows[-1][0])


def movements_between(start: datetime | None = None, end: datetime | None = None,
                      location_id: int | None = None) -> QuerySet[StockMovement]:
    """Movements dated from `start` (included) to `end` (excluded), at one location or all."""
    movements = StockMovement.objects.all()
    if start is not None:
        movements = movements.filter(movement_date__gte=start)
    if end is not None:
        movements = movements.filter(movement_date__lt=end)
    if location_id is not None:
        movements = movements.filter(stock_location_id=location_id)
    return movements
