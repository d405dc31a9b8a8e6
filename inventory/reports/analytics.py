"""Warehouse analytics: stock levels, flows over a period, top movers and low-stock alerts.

Every figure is one aggregate query (SUM/COUNT with FILTER, GROUP BY); nothing loops over movement
rows in Python. Functions take an optional `location_id` (one warehouse, else all) so the API and the
staff dashboard can share them.

Definitions (also in docs/api.md, warehouse levels and analytics):
- available = count_on_hand - quantity_allocated.
- low stock: available <= reorder_point (an out-of-stock item is low stock too); out of stock: available <= 0.
- A period is the last 7, 30, 90 or 365 days up to now, by movement_date (so backdated movements land on
  the day they happened).
- stock_in: units received or returned; stock_out: units sold; adjustments: net units of `adjusted` and
  `counted` movements. Transfers are reported apart (transfers_in, transfers_out): across all warehouses
  they cancel out, and they are neither purchases nor sales.
- top movers: the variants with the most units sold in the period.
- A discarded stock item (`deleted_at` set, see `services.stock_items`) is in none of the figures: neither its
  stock nor its movements count, as the APIs no longer list or find it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import BigIntegerField, Count, DecimalField, F, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from inventory.models import Action, StockItem, StockMovement

PERIODS: dict[str, timedelta] = {
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    "1y": timedelta(days=365),
}
DEFAULT_PERIOD = "30d"

INBOUND = (Action.RECEIVED, Action.RETURNED)
OUTBOUND = (Action.SOLD,)
ADJUSTING = (Action.ADJUSTED, Action.COUNTED)

LOW_STOCK = Q(quantity_available__lte=F("reorder_point"))
OUT_OF_STOCK = Q(quantity_available__lte=0)


@dataclass(frozen=True)
class Window:
    period: str
    start: datetime
    end: datetime

    def days(self) -> list[date]:
        first, last = self.start.date(), self.end.date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def window_for(period: str, *, now: datetime | None = None) -> Window:
    """The period ending now. Raises ValueError naming the accepted periods."""
    if period not in PERIODS:
        raise ValueError(f"'{period}' is not a period; use one of {', '.join(PERIODS)}.")
    end = now or timezone.now()
    return Window(period=period, start=end - PERIODS[period], end=end)


def _int_sum(expression: str, condition: Q | None = None):
    return Coalesce(Sum(expression, filter=condition), Value(0), output_field=IntegerField())


def levels(*, location_id: int | None = None, variant_id: int | None = None) -> QuerySet[StockItem]:
    """Live stock items annotated with `quantity_available`, with their variant, product and location joined."""
    items = StockItem.objects.filter(deleted_at__isnull=True).select_related("variant__product", "stock_location")
    items = items.annotate(
        # In 64 bits: both totals are 32-bit columns whose difference (and the shortfall from it) may not fit.
        quantity_available=Cast("count_on_hand", BigIntegerField()) - F("quantity_allocated"),
    )
    if location_id is not None:
        items = items.filter(stock_location_id=location_id)
    if variant_id is not None:
        items = items.filter(variant_id=variant_id)
    return items


def live_movements() -> QuerySet[StockMovement]:
    """Movements of stock items not discarded. (NOT IN over the few discarded items: no join per movement.)"""
    return StockMovement.objects.exclude(stock_item__in=StockItem.objects.filter(deleted_at__isnull=False).values("pk"))


def overview(*, location_id: int | None = None) -> dict:
    """total_products (distinct variants stocked), total_stock_value (Decimal), low/out-of-stock item counts,
    total_units on hand and allocated. One query."""
    figures = levels(location_id=location_id).aggregate(
        total_products=Count("variant", distinct=True),
        total_stock_value=Coalesce(Sum("value_in_stock"), Value(Decimal("0.00")),
                                   output_field=DecimalField(max_digits=20, decimal_places=2)),
        low_stock_items=Count("pk", filter=LOW_STOCK),
        out_of_stock_items=Count("pk", filter=OUT_OF_STOCK),
        total_units=_int_sum("count_on_hand"),
        allocated_units=_int_sum("quantity_allocated"),
    )
    figures["total_stock_value"] = Decimal(figures["total_stock_value"]).quantize(Decimal("0.01"))
    return figures


def _movements(window: Window, location_id: int | None) -> QuerySet[StockMovement]:
    movements = live_movements().filter(movement_date__gte=window.start, movement_date__lte=window.end)
    if location_id is not None:
        movements = movements.filter(stock_location_id=location_id)
    return movements


def _flow_sums() -> dict:
    return {
        "stock_in": _int_sum("quantity", Q(action__in=INBOUND)),
        "stock_out_signed": _int_sum("quantity", Q(action__in=OUTBOUND)),
        "adjustments": _int_sum("quantity", Q(action__in=ADJUSTING)),
        "transfers_in": _int_sum("quantity", Q(action=Action.TRANSFERRED_IN)),
        "transfers_out_signed": _int_sum("quantity", Q(action=Action.TRANSFERRED_OUT)),
        "movements": Count("pk"),
    }


def _finish_flows(row: dict) -> dict:
    row["stock_out"] = -row.pop("stock_out_signed")
    row["transfers_out"] = -row.pop("transfers_out_signed")
    row["net_change"] = (row["stock_in"] - row["stock_out"] + row["adjustments"]
                         + row["transfers_in"] - row["transfers_out"])
    return row


def trends(window: Window, *, location_id: int | None = None) -> dict:
    """Units in, out, adjusted and transferred over the window, and the number of movements. One query."""
    return _finish_flows(_movements(window, location_id).aggregate(**_flow_sums()))


def daily_flows(window: Window, *, location_id: int | None = None) -> list[dict]:
    """trends() per UTC day of the window, every day present (zeros where nothing moved). One query."""
    rows = (
        _movements(window, location_id)
        .annotate(day=TruncDate("movement_date"))
        .values("day")
        .annotate(**_flow_sums())
        .order_by("day")
    )
    by_day = {row.pop("day"): _finish_flows(row) for row in rows}
    empty = {"stock_in": 0, "stock_out": 0, "adjustments": 0, "transfers_in": 0, "transfers_out": 0,
             "movements": 0, "net_change": 0}
    return [{"date": day, **by_day.get(day, empty)} for day in window.days()]


def top_movers(window: Window, *, location_id: int | None = None, limit: int = 10) -> list[dict]:
    """Variants by units sold in the window, most first (ties: lowest variant id). One query.
    Each: variant_id, sku, name, units_sold, cost_of_goods_sold (Decimal), sales (number of movements)."""
    rows = (
        _movements(window, location_id)
        .filter(action__in=OUTBOUND)
        .values(variant_id=F("stock_item__variant_id"), sku=F("stock_item__variant__sku"),
                name=F("stock_item__variant__product__name"))
        .annotate(units_sold=-Sum("quantity"), cost_of_goods_sold=Sum("figures__total_cost"), sales=Count("pk"))
        .order_by("-units_sold", "variant_id")[:limit]
    )
    return list(rows)


def low_stock_alerts(*, location_id: int | None = None, limit: int = 20) -> list[StockItem]:
    """Low-stock items, most urgent first (largest reorder_point - available), each with `shortfall`."""
    items = (
        levels(location_id=location_id)
        .filter(LOW_STOCK)
        .annotate(shortfall=F("reorder_point") - F("quantity_available"))
        .order_by("-shortfall", "pk")[:limit]
    )
    return list(items)


def warehouse_analytics(period: str, *, location_id: int | None = None, now: datetime | None = None) -> dict:
    """Everything `GET /api/v1/inventory/analytics` shows, as Python values (Decimals, dates, StockItems)."""
    window = window_for(period, now=now)
    return {
        "window": window,
        "overview": overview(location_id=location_id),
        "trends": trends(window, location_id=location_id),
        "daily": daily_flows(window, location_id=location_id),
        "top_movers": top_movers(window, location_id=location_id),
        "low_stock_alerts": low_stock_alerts(location_id=location_id),
    }
