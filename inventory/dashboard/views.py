"""The staff dashboard: a page (charts drawn in the browser by static/dashboard/dashboard.js) and the
JSON it draws from. Both are for active staff users signed in through the admin login."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from inventory.dashboard.queries import DEFAULT_DAYS, MAX_DAYS, daily_figures, last_days, movements_on
from inventory.models import StockLocation, StockMovement
from inventory.reports.analytics import low_stock_alerts, overview

# The low-stock table lists the most urgent items; the headline figure counts them all.
LOW_STOCK_ROWS = 50
# The "movements today" panel lists the newest; its totals count them all.
TODAY_ROWS = 20
DAY_CHOICES = (7, 30, 90, 365)


@dataclass(frozen=True)
class Filters:
    location: StockLocation | None
    days: int

    def as_query(self) -> str:
        query = QueryDict(mutable=True)
        if self.location is not None:
            query["location"] = str(self.location.pk)
        query["days"] = str(self.days)
        return query.urlencode()


class InvalidFilters(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items()))
        self.errors = errors


def _whole_number(raw: str) -> int | None:
    if not raw.strip().isascii():
        return None  # int() also reads "５"
    try:
        return int(raw.strip())
    except ValueError:
        return None


def parse_filters(params: QueryDict) -> Filters:
    """`?location=<id>` (a stock location, default all) and `?days=N` (1..366, default 30).
    Every bad parameter is reported at once, by name."""
    errors: dict[str, list[str]] = {}
    location = None
    raw_location = params.get("location", "").strip()
    if raw_location:
        location_id = _whole_number(raw_location)
        if location_id is not None:
            location = StockLocation.objects.filter(pk=location_id).first()
        if location is None:
            errors["location"] = [f"'{raw_location}' is not the id of a stock location."]
    days = DEFAULT_DAYS
    raw_days = params.get("days", "").strip()
    if raw_days:
        parsed = _whole_number(raw_days)
        if parsed is None or not 1 <= parsed <= MAX_DAYS:
            errors["days"] = [f"'{raw_days}' is not a whole number of days from 1 to {MAX_DAYS}."]
        else:
            days = parsed
    if errors:
        raise InvalidFilters(errors)
    return Filters(location=location, days=days)


def _location(location: StockLocation) -> dict:
    return {"id": location.pk, "code": location.code, "name": location.name}


def _movement(movement: StockMovement) -> dict:
    item = movement.stock_item
    return {
        "id": movement.pk,
        "url": reverse("admin:inventory_stockmovement_change", args=[movement.pk]),
        "movement_date": movement.movement_date.isoformat(),
        "time": timezone.localtime(movement.movement_date).strftime("%H:%M"),
        "action": movement.action,
        "action_label": movement.get_action_display(),
        "quantity": movement.quantity,
        "sku": item.variant.sku,
        "name": item.variant.product.name,
        "location": _location(movement.stock_location),
        "user": movement.created_by.get_username() if movement.created_by else "",
    }


def build_payload(filters: Filters) -> dict:
    """Everything the dashboard draws, JSON-ready. Money is a string with two decimals (exact) in
    `currency`; quantities are integers. A constant number of queries, whatever the data."""
    location_id = filters.location.pk if filters.location else None
    days = last_days(filters.days)
    # Items never stocked at a location (propagation gives every variant an item everywhere) are not
    # "low" there unless someone set a reorder point for them.
    figures = overview(location_id=location_id, skip_never_stocked=True)
    daily = daily_figures(days, location_id=location_id)
    low = low_stock_alerts(location_id=location_id, limit=LOW_STOCK_ROWS, skip_never_stocked=True)
    today = movements_on(days.last, location_id=location_id, limit=TODAY_ROWS)
    return {
        "generated_at": timezone.now().isoformat(),
        "currency": settings.STOCKROOM_CURRENCY,
        "location": _location(filters.location) if filters.location else None,
        "days": filters.days,
        "first_day": days.first.isoformat(),
        "last_day": days.last.isoformat(),
        "overview": {
            "total_stock_value": str(figures["total_stock_value"]),
            "total_units": figures["total_units"],
            "allocated_units": figures["allocated_units"],
            "total_products": figures["total_products"],
            "low_stock_items": figures["low_stock_items"],
            "out_of_stock_items": figures["out_of_stock_items"],
        },
        "stock_value": [{"date": row["date"].isoformat(), "value": str(row["stock_value"])} for row in daily],
        "movements": [
            {"date": row["date"].isoformat(), "in": row["units_in"], "out": row["units_out"],
             "count": row["movements"]}
            for row in daily
        ],
        "low_stock": [
            {
                "stock_item_id": item.pk,
                "url": reverse("admin:inventory_stockitem_change", args=[item.pk]),
                "sku": item.variant.sku,
                "name": item.variant.product.name,
                "location": _location(item.stock_location),
                "count_on_hand": item.count_on_hand,
                "quantity_allocated": item.quantity_allocated,
                "available": item.quantity_available,
                "reorder_point": item.reorder_point,
            }
            for item in low
        ],
        "today": {
            "date": days.last.isoformat(),
            "count": today["count"],
            "units_in": today["units_in"],
            "units_out": today["units_out"],
            "movements": [_movement(m) for m in today["latest"]],
        },
    }


@require_GET
@never_cache
@staff_member_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Stock dashboard",
        "locations": StockLocation.objects.order_by("name", "id"),
        "day_choices": DAY_CHOICES,
        "currency": settings.STOCKROOM_CURRENCY,
    }
    try:
        filters = parse_filters(request.GET)
    except InvalidFilters as exc:
        context.update(errors=exc.errors, selected_location="", selected_days=DEFAULT_DAYS)
        return render(request, "dashboard/index.html", context, status=400)
    context.update(
        data_url=f"{reverse('dashboard:data')}?{filters.as_query()}",
        selected_location=str(filters.location.pk) if filters.location else "",
        selected_days=filters.days,
        location=filters.location,
    )
    return render(request, "dashboard/index.html", context)


@require_GET
@never_cache
def dashboard_data(request: HttpRequest) -> JsonResponse:
    """The page's data. Answers in the warehouse family's envelope ({"error", "details"}); a JSON client
    gets a status, not a redirect to the login page."""
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"error": "Sign in as a staff user to see the dashboard.", "details": {}}, status=401)
    if not (user.is_active and user.is_staff):
        return JsonResponse({"error": "The dashboard is for staff users.", "details": {}}, status=403)
    try:
        filters = parse_filters(request.GET)
    except InvalidFilters as exc:
        return JsonResponse({"error": "Invalid parameters.", "details": exc.errors}, status=422)
    return JsonResponse(build_payload(filters))
