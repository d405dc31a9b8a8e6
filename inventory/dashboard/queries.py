"""The dashboard's own figures: stock value at the end of each day, rebuilt from the ledger, and units
moved in and out per day.

Stock value at the end of day D is, over the items in scope, the `value_in_stock_after` of each item's
last movement (by movement_date, then id: the ledger's order) dated before D + 1 day. Rather than look
that up once per day, each movement in the range carries the change it made to its item's value
(its value_in_stock_after less that of the item's previous movement); those changes telescope, so

    value(D) = opening value (every item's last value before the first day) + changes dated up to D.

That is two queries whatever the number of days or movements: one for the opening value (a subquery per
item down the (stock_item, movement_date, id) index) and one GROUP BY day for the changes and the units
in and out. Python only adds up one row per day.

Days are calendar days in the current time zone (settings.TIME_ZONE, UTC by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from inventory.models import StockItem, StockMovement

DEFAULT_DAYS = 30
MAX_DAYS = 366
CENT = Decimal("0.01")
MONEY = DecimalField(max_digits=20, decimal_places=2)


@dataclass(frozen=True)
class DayRange:
    """The last `count` calendar days up to and including `last`."""

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


def _movements(location_id: int | None) -> QuerySet[StockMovement]:
    movements = StockMovement.objects.all()
    if location_id is not None:
        movements = movements.filter(stock_item__stock_location_id=location_id)
    return movements


def opening_value(before: datetime, *, location_id: int | None = None) -> Decimal:
    """Total of every item's value_in_stock_after as of its last movement dated before `before`. One query."""
    last_value = (
        StockMovement.objects.filter(stock_item=OuterRef("pk"), movement_date__lt=before)
        .order_by("-movement_date", "-id")
        .values("value_in_stock_after")[:1]
    )
    items = StockItem.objects.all()
    if location_id is not None:
        items = items.filter(stock_location_id=location_id)
    total = items.annotate(opening=Subquery(last_value, output_field=MONEY)).aggregate(
        total=Coalesce(Sum("opening"), Value(Decimal("0")), output_field=MONEY)
    )["total"]
    return Decimal(total).quantize(CENT)


def _value_change() -> ExpressionWrapper:
    """A movement's change to its item's value: its value_in_stock_after less the previous movement's
    (zero before the first). "Previous" follows the ledger's order, so it may lie before the range."""
    previous = (
        StockMovement.objects.filter(stock_item=OuterRef("stock_item"))
        .filter(Q(movement_date__lt=OuterRef("movement_date"))
                | Q(movement_date=OuterRef("movement_date"), id__lt=OuterRef("id")))
        .order_by("-movement_date", "-id")
        .values("value_in_stock_after")[:1]
    )
    return ExpressionWrapper(
        F("value_in_stock_after") - Coalesce(Subquery(previous, output_field=MONEY), Value(Decimal("0"))),
        output_field=MONEY,
    )


def daily_figures(days: DayRange, *, location_id: int | None = None) -> list[dict]:
    """One row per day of the range, oldest first, every day present:
    `date`, `stock_value` (Decimal, end of day), `units_in` (sum of positive quantities), `units_out`
    (sum of |negative| quantities) and `movements` (how many). Two queries."""
    opening = opening_value(days.start, location_id=location_id)
    rows = (
        _movements(location_id)
        .filter(movement_date__gte=days.start, movement_date__lt=days.end)
        .annotate(day=TruncDate("movement_date"), value_change=_value_change())
        .values("day")
        .annotate(
            change=Sum("value_change"),
            units_in=Coalesce(Sum("quantity", filter=Q(quantity__gt=0)), Value(0), output_field=IntegerField()),
            units_out_signed=Coalesce(Sum("quantity", filter=Q(quantity__lt=0)), Value(0),
                                      output_field=IntegerField()),
            movements=Count("pk"),
        )
        .order_by("day")
    )
    by_day = {row["day"]: row for row in rows}
    figures, value = [], opening
    for day in days.days():
        row = by_day.get(day)
        if row is not None:
            value += Decimal(row["change"] or 0)
        figures.append({
            "date": day,
            "stock_value": value.quantize(CENT),
            "units_in": row["units_in"] if row else 0,
            "units_out": -row["units_out_signed"] if row else 0,
            "movements": row["movements"] if row else 0,
        })
    return figures
