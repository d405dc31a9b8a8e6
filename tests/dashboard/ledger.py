"""A small ledger with movements on known days, worked out by hand, shared by the dashboard tests.

FIFO valuation. Days are counted back from today (day 0); the dashboard's default range is days -29..0.

Item X (sku DASH-X) at location A, reorder point 5:
  day -40  receive 10 @ 2.00               value 20.00   (before the range: the opening value)
  day -5   receive 5 @ 4.00                value 40.00   in 5
  day -5   sell 3 (3 @ 2.00)               value 34.00   out 3
  day -2   adjust -4 (4 @ 2.00)            value 26.00   out 4
  day 0    sell 6 (3 @ 2.00 + 3 @ 4.00)    value  8.00   out 6     -> 2 on hand: low stock
Item Y (sku DASH-Y) at location B, reorder point 4, recorded out of date order:
  day -10  receive 4 @ 10.00               value 40.00 when recorded, 60.00 once day -20 is posted
  day -20  receive 2 @ 10.00 (backdated)   value 20.00   in 2
  day -1   sell 1 (1 @ 10.00)              value 50.00   out 1     -> 5 on hand, 1 allocated: 4 available, low
Item Z (sku DASH-Z) at location B, reorder point 1: receive 3 @ 1.00 on day -3 -> 3 available, not low.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from inventory import services
from inventory.models import StockItem, StockLocation
from inventory.services.allocations import allocate
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory


def day_at_noon(days_ago: int) -> datetime:
    day = timezone.localdate() - timedelta(days=days_ago)
    return timezone.make_aware(datetime.combine(day, time(12, 0)), timezone.get_current_timezone())


@dataclass
class Ledger:
    a: StockLocation
    b: StockLocation
    x: StockItem
    y: StockItem
    z: StockItem


def build_ledger() -> Ledger:
    a = StockLocationFactory(name="Main warehouse", code="DASHA")
    b = StockLocationFactory(name="Downtown store", code="DASHB")
    x = StockItemFactory(stock_location=a, variant=VariantFactory(sku="DASH-X"), reorder_point=5)
    y = StockItemFactory(stock_location=b, variant=VariantFactory(sku="DASH-Y"), reorder_point=4)
    z = StockItemFactory(stock_location=b, variant=VariantFactory(sku="DASH-Z"), reorder_point=1)

    services.receive(x, 10, value_per_unit="2.00", movement_date=day_at_noon(40))
    services.receive(x, 5, value_per_unit="4.00", movement_date=day_at_noon(5))
    services.sell(x, 3, movement_date=day_at_noon(5) + timedelta(hours=1))
    services.adjust(x, -4, movement_date=day_at_noon(2))
    services.sell(x, 6)  # now: today

    services.receive(y, 4, value_per_unit="10.00", movement_date=day_at_noon(10))
    services.receive(y, 2, value_per_unit="10.00", movement_date=day_at_noon(20))
    services.sell(y, 1, movement_date=day_at_noon(1))
    allocate(y, 1)

    services.receive(z, 3, value_per_unit="1.00", movement_date=day_at_noon(3))
    for item in (x, y, z):
        item.refresh_from_db()
    return Ledger(a=a, b=b, x=x, y=y, z=z)


def expected_values(changes: dict[int, str], opening: str, days: int = 30) -> list[str]:
    """The end-of-day value series, oldest first, from the opening value and the days (days ago) on which
    the value changed to a new total."""
    series, value = [], Decimal(opening)
    for days_ago in range(days - 1, -1, -1):
        if days_ago in changes:
            value = Decimal(changes[days_ago])
        series.append(f"{value:.2f}")
    return series


# End-of-day totals on the days they change (all locations): X + Y + Z.
ALL_LOCATIONS = {20: "40.00", 10: "80.00", 5: "94.00", 3: "97.00", 2: "89.00", 1: "79.00", 0: "61.00"}
ALL_OPENING = "20.00"
# Location A only: X.
LOCATION_A = {5: "34.00", 2: "26.00", 0: "8.00"}
LOCATION_A_OPENING = "20.00"
# Units in and out per day (days ago -> (in, out)), all locations.
ALL_FLOWS = {20: (2, 0), 10: (4, 0), 5: (5, 3), 3: (3, 0), 2: (0, 4), 1: (0, 1), 0: (0, 6)}
