"""The dashboard's own figures: stock value at the end of each day, rebuilt from the ledger, and units
moved in and out per day.

Stock value at the end of day D is, over the items in scope, the `value_in_stock_after` of each item's
last movement (in ledger order: movement_date, then id) dated before D + 1 day. Looking that up once
per day would cost a query per day; instead the two queries below give, per day, how the total changed:

1. Items (one row per stock item, two index lookups each, grouped in SQL): each item's *opening* value
   (its last value before the range) summed by the day of the item's first movement inside the range.
   From that day on, the item's opening is replaced by its in-range values.
2. Movements in the range (one scan, a window function, grouped by day in SQL): each movement's value
   less the previous in-range movement's of the same item (LAG; 0 for an item's first in-range movement),
   the units in (positive quantities) and out (negative ones).

Then value(D) = all openings - openings of items first moved by D + the movement sums up to D, because
per item the LAG differences add up to its last value by D. Python only walks the days.

Days are calendar days in the current time zone (settings.TIME_ZONE, UTC by default). Discarded stock
items are left out of both queries, as out of the rest of the dashboard (`reports.analytics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Window
from django.db.models.functions import Lag, TruncDate
from django.utils import timezone

from inventory.models import StockItem, StockMovement
from inventory.reports.analytics import live_movements

DEFAULT_DAYS = 30
MAX_DAYS = 366
CENT = Decimal("0.01")
MONEY = DecimalField(max_digits=20, decimal_places=2)


@dataclass(frozen=True)
class DayRange:
    """The `count` calendar days up to and including `last`."""

    first: date
    last: date

    @classmethod
    def ending(cls, last: date, count: int) -> DayRange:
        if count < 1:
            raise ValueError("A day range needs at least one day.")
        return cls(first=last - timedelta(days=count - 1), last=last)

    @property
    def start(self) -> datetime:
        """The first instant of the first day."""
        return _midnight(self.first)

    @property
    def end(self) -> datetime:
        """The first instant after the last day."""
        return _midnight(self.last + timedelta(days=1))

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def last_days(count: int = DEFAULT_DAYS, *, today: date | None = None) -> DayRange:
    return DayRange.ending(today or timezone.localdate(), count)


def _money(value) -> Decimal:
    # SQLite hands back sums of decimals as floats; PostgreSQL as Decimals.
    return Decimal(str(value or 0)).quantize(CENT)


def _as_date(value) -> date | None:
    # A day computed in SQL and read back raw: a date (PostgreSQL) or ISO text (SQLite).
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _in_range(movements: QuerySet[StockMovement], days: DayRange) -> QuerySet[StockMovement]:
    return movements.filter(movement_date__gte=days.start, movement_date__lt=days.end)


def openings_by_first_day(days: DayRange, *, location_id: int | None = None) -> dict[date | None, Decimal]:
    """The items' opening values (each item's last value_in_stock_after before the range), summed by the
    day of the item's first movement in the range (None: no movement in the range). One query."""
    before = (
        StockMovement.objects.filter(stock_item=OuterRef("pk"), movement_date__lt=days.start)
        .order_by("-movement_date", "-id")
        .values("figures__value_in_stock_after")[:1]
    )
    first_day = (
        _in_range(StockMovement.objects.filter(stock_item=OuterRef("pk")), days)
        .order_by("movement_date", "id")
        .annotate(day=TruncDate("movement_date"))
        .values("day")[:1]
    )
    items = StockItem.objects.filter(deleted_at__isnull=True)
    if location_id is not None:
        items = items.filter(stock_location_id=location_id)
    rows = (
        items.annotate(opening=Subquery(before, output_field=MONEY), first_day=Subquery(first_day))
        .filter(opening__isnull=False)
        .values("first_day")
        .annotate(total=Sum("opening"))
        .order_by()
    )
    return {_as_date(row["first_day"]): _money(row["total"]) for row in rows}


def movement_sums_by_day(days: DayRange, *, location_id: int | None = None) -> dict[date, dict]:
    """Per day of the range with movements: `value_change` (sum of each movement's value less the previous
    in-range value of its item, 0 for the first), `units_in`, `units_out` and `movements`. One query.

    Django cannot aggregate over a window function, so the ORM builds the windowed rows and a plain
    GROUP BY, the same on PostgreSQL and SQLite, adds them up."""
    movements = live_movements()
    if location_id is not None:
        movements = movements.filter(stock_location_id=location_id)
    rows = (
        _in_range(movements, days)
        .order_by()
        .annotate(
            day=TruncDate("movement_date"),
            units=F("quantity"),
            value_after=F("figures__value_in_stock_after"),
            value_before=Window(
                Lag("figures__value_in_stock_after"),
                partition_by=[F("stock_item_id")],
                order_by=[F("movement_date").asc(), F("id").asc()],
            ),
        )
        .values("day", "units", "value_after", "value_before")
    )
    inner, params = rows.query.sql_with_params()
    day, units, after, before = (connection.ops.quote_name(name)
                                 for name in ("day", "units", "value_after", "value_before"))
    sql = (
        f"SELECT {day}, SUM({after} - COALESCE({before}, 0)),"
        f" SUM(CASE WHEN {units} > 0 THEN {units} ELSE 0 END),"
        f" SUM(CASE WHEN {units} < 0 THEN -{units} ELSE 0 END), COUNT(*)"
        f" FROM ({inner}) windowed GROUP BY {day}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            _as_date(row[0]): {"value_change": _money(row[1]), "units_in": int(row[2]), "units_out": int(row[3]),
                               "movements": int(row[4])}
            for row in cursor.fetchall()
        }


def daily_figures(days: DayRange, *, location_id: int | None = None) -> list[dict]:
    """One row per day of the range, oldest first, every day present: `date`, `stock_value` (Decimal, at the
    end of the day), `units_in` (sum of positive quantities), `units_out` (sum of |negative| quantities) and
    `movements` (how many). Two queries."""
    openings = openings_by_first_day(days, location_id=location_id)
    sums = movement_sums_by_day(days, location_id=location_id)
    # Openings of items not yet moved in the range, plus what the moved ones' in-range movements add up to.
    value = sum(openings.values(), Decimal("0.00"))
    figures = []
    for day in days.days():
        row = sums.get(day)
        value += (row["value_change"] if row else 0) - openings.get(day, 0)
        figures.append({
            "date": day,
            "stock_value": value.quantize(CENT),
            "units_in": row["units_in"] if row else 0,
            "units_out": row["units_out"] if row else 0,
            "movements": row["movements"] if row else 0,
        })
    return figures
