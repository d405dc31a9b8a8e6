"""The staff dashboard page and its data endpoint: who may see them, and the figures on a hand-worked ledger."""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from inventory import services
from inventory.dashboard.queries import DayRange, daily_figures, movement_sums_by_day, openings_by_first_day
from inventory.models import StockMovement
from inventory.services.errors import StockError
from tests.dashboard.ledger import (
    ALL_FLOWS,
    ALL_LOCATIONS,
    ALL_OPENING,
    LOCATION_A,
    LOCATION_A_OPENING,
    day_at_noon,
    expected_values,
)
from tests.factories import StockItemFactory, StockLocationFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = "/dashboard/"
DATA = "/dashboard/data.json"


# --- who may see it -------------------------------------------------------------------------------


def test_routes_are_where_the_readme_says():
    assert reverse("dashboard:index") == PAGE
    assert reverse("dashboard:data") == DATA


def test_anonymous_page_redirects_to_admin_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert "next=/dashboard/" in response["Location"]


def test_non_staff_page_redirects_to_admin_login(client):
    client.force_login(UserFactory(is_staff=False))
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_inactive_staff_is_refused(client):
    user = UserFactory(is_staff=True)
    client.force_login(user)
    user.is_active = False
    user.save()
    assert client.get(PAGE).status_code == 302
    assert client.get(DATA).status_code in (401, 403)


def test_data_endpoint_needs_staff_and_answers_in_json(client):
    response = client.get(DATA)
    assert response.status_code == 401
    assert response.json() == {"error": "Sign in as a staff user to see the dashboard.", "details": {}}
    client.force_login(UserFactory(is_staff=False))
    response = client.get(DATA)
    assert response.status_code == 403
    assert response.json()["error"] == "The dashboard is for staff users."


def test_api_key_alone_does_not_open_the_dashboard(client, make_client):
    # The dashboard is a session (admin login) page; an API key is not a staff sign-in.
    api = make_client("admin")
    assert api.get(DATA).status_code == 401


def test_staff_page_renders_with_static_assets_and_no_external_urls(staff_client):
    response = staff_client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="dashboard"' in html
    assert 'data-url="/dashboard/data.json?days=30"' in html
    assert "/static/dashboard/dashboard.js" in html
    assert "/static/dashboard/dashboard.css" in html
    assert 'id="value-chart"' in html and 'id="flow-chart"' in html and 'id="low-stock"' in html
    for external in ("https://", "http://", "//cdn"):
        assert external not in html.replace("http://www.w3.org", "")


def test_static_assets_are_served_and_load_nothing_from_outside(staff_client):
    for path in ("/static/dashboard/dashboard.js", "/static/dashboard/dashboard.css"):
        response = staff_client.get(path)
        assert response.status_code == 200
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode().replace("http://www.w3.org/2000/svg", "")
        assert "http://" not in text and "https://" not in text and "import(" not in text


def test_page_keeps_the_filters_in_the_data_url(staff_client, ledger):
    response = staff_client.get(PAGE, {"location": ledger.a.pk, "days": 7})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-url="/dashboard/data.json?location={ledger.a.pk}&amp;days=7"' in html
    assert f'<option value="{ledger.a.pk}" selected>' in html


def test_page_with_bad_filters_says_so(staff_client):
    response = staff_client.get(PAGE, {"location": "nope"})
    assert response.status_code == 400
    assert "is not the id of a stock location" in response.content.decode()
    assert "data-url" not in response.content.decode()


def test_admin_index_links_to_the_dashboard(staff_client):
    response = staff_client.get(reverse("admin:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<a href="/dashboard/">Stock dashboard</a>' in html
    # Still the admin's own index around it.
    assert "Site administration" in html and 'id="content-main"' in html


# --- the figures -----------------------------------------------------------------------------------


def test_stock_value_and_flows_per_day_match_the_hand_worked_ledger(staff_client, ledger):
    response = staff_client.get(DATA)
    assert response.status_code == 200
    data = response.json()
    assert data["days"] == 30 and data["location"] is None
    assert data["last_day"] == day_at_noon(0).date().isoformat()
    assert data["first_day"] == day_at_noon(29).date().isoformat()
    assert [p["date"] for p in data["stock_value"]] == [day_at_noon(n).date().isoformat() for n in range(29, -1, -1)]
    assert [p["value"] for p in data["stock_value"]] == expected_values(ALL_LOCATIONS, ALL_OPENING)
    flows = {30 - 1 - i: (row["in"], row["out"]) for i, row in enumerate(data["movements"]) if row["count"]}
    assert flows == ALL_FLOWS
    assert data["movements"][-1] == {"date": data["last_day"], "in": 0, "out": 6, "count": 1}
    # The newest point agrees with the stock items' cached values.
    assert data["overview"]["total_stock_value"] == "61.00" == data["stock_value"][-1]["value"]
    assert data["overview"]["total_units"] == 2 + 5 + 3
    assert data["overview"]["allocated_units"] == 1


def test_location_filter(staff_client, ledger):
    data = staff_client.get(DATA, {"location": ledger.a.pk}).json()
    assert data["location"] == {"id": ledger.a.pk, "code": "DASHA", "name": "Main warehouse"}
    assert [p["value"] for p in data["stock_value"]] == expected_values(LOCATION_A, LOCATION_A_OPENING)
    flows = {29 - i: (row["in"], row["out"]) for i, row in enumerate(data["movements"]) if row["count"]}
    assert flows == {5: (5, 3), 2: (0, 4), 0: (0, 6)}
    assert [row["sku"] for row in data["low_stock"]] == ["DASH-X"]
    assert data["overview"]["total_stock_value"] == "8.00"


def test_shorter_period_starts_from_the_value_before_it(staff_client, ledger):
    data = staff_client.get(DATA, {"days": 7}).json()
    assert len(data["stock_value"]) == len(data["movements"]) == 7
    # Before day -6: X 20.00 + Y 60.00 (its backdated receipt included).
    assert [p["value"] for p in data["stock_value"]] == ["80.00", "94.00", "94.00", "97.00", "89.00", "79.00",
                                                        "61.00"]


def test_low_stock_list(staff_client, ledger):
    data = staff_client.get(DATA).json()
    assert data["low_stock"] == [
        {"stock_item_id": ledger.x.pk, "url": f"/admin/inventory/stockitem/{ledger.x.pk}/change/",
         "sku": "DASH-X", "name": ledger.x.variant.product.name,
         "location": {"id": ledger.a.pk, "code": "DASHA", "name": "Main warehouse"},
         "count_on_hand": 2, "quantity_allocated": 0, "available": 2, "reorder_point": 5},
        {"stock_item_id": ledger.y.pk, "url": f"/admin/inventory/stockitem/{ledger.y.pk}/change/",
         "sku": "DASH-Y", "name": ledger.y.variant.product.name,
         "location": {"id": ledger.b.pk, "code": "DASHB", "name": "Downtown store"},
         "count_on_hand": 5, "quantity_allocated": 1, "available": 4, "reorder_point": 4},
    ]
    assert data["overview"]["low_stock_items"] == 2
    assert data["overview"]["out_of_stock_items"] == 0


def test_empty_ledger_gives_zeros_for_every_day(staff_client):
    data = staff_client.get(DATA, {"days": 3}).json()
    assert [p["value"] for p in data["stock_value"]] == ["0.00"] * 3
    assert [(m["in"], m["out"]) for m in data["movements"]] == [(0, 0)] * 3
    assert data["low_stock"] == []


def test_edited_and_deleted_movements_are_reflected(staff_client, ledger):
    # Deleting X's day -2 adjustment and moving Z's receipt to day -4 reposts both ledgers.
    adjustment = StockMovement.objects.get(stock_item=ledger.x, action="adjusted")
    services.delete_movement(adjustment)
    receipt = StockMovement.objects.get(stock_item=ledger.z)
    services.update_movement(receipt, movement_date=day_at_noon(4))
    data = staff_client.get(DATA, {"days": 6}).json()
    # Days -5..0. X without the adjustment holds 7 @ 2.00 + 5 @ 4.00 = 34.00 from day -5, and today's sale
    # of 6 takes 6 @ 2.00 -> 22.00. Y: 60.00 until day -1, then 50.00. Z: 3.00 from day -4 instead of -3.
    assert [p["value"] for p in data["stock_value"]] == ["94.00", "97.00", "97.00", "97.00", "87.00", "75.00"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"location": "abc"}, "location"),
        ({"location": "999999"}, "location"),
        ({"days": "0"}, "days"),
        ({"days": "367"}, "days"),
        ({"days": "ten"}, "days"),
    ],
)
def test_bad_parameters_are_422_naming_them(staff_client, params, field):
    response = staff_client.get(DATA, params)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "Invalid parameters."
    assert list(body["details"]) == [field]


def test_every_bad_parameter_is_reported_at_once(staff_client):
    body = staff_client.get(DATA, {"location": "x", "days": "-1"}).json()
    assert set(body["details"]) == {"location", "days"}


def test_post_is_not_allowed(staff_client):
    assert staff_client.post(DATA).status_code == 405


def test_data_costs_a_constant_number_of_queries(staff_client, ledger, django_assert_max_num_queries):
    # session, user, location, overview, opening value, daily figures, low-stock list, today's totals and rows
    def queries() -> list[str]:
        with django_assert_max_num_queries(9) as captured:
            assert staff_client.get(DATA, {"location": ledger.b.pk, "days": 90}).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    before = queries()
    # Ten times the items and a movement on every day: still the same queries.
    for n in range(30):
        item = StockItemFactory(stock_location=ledger.b, reorder_point=100)
        services.receive(item, 5, value_per_unit="1.00", movement_date=day_at_noon(60))
        services.sell(item, 1, movement_date=day_at_noon(n % 20 + 1))
    after = queries()
    assert len(after) == len(before)
    assert len(staff_client.get(DATA, {"location": ledger.b.pk}).json()["low_stock"]) == 31


def test_queries_directly(ledger):
    days = DayRange.ending(day_at_noon(0).date(), 30)
    # Only X has a value before the range; its first movement in the range is on day -5.
    assert openings_by_first_day(days) == {day_at_noon(5).date(): Decimal(ALL_OPENING)}
    assert openings_by_first_day(days, location_id=ledger.b.pk) == {}
    # Days -3..0: X (34.00) first moves on day -2, Y (60.00) on day -1; Z has nothing before day -3.
    short = DayRange.ending(day_at_noon(0).date(), 4)
    assert openings_by_first_day(short) == {day_at_noon(2).date(): Decimal("34.00"),
                                            day_at_noon(1).date(): Decimal("60.00")}
    sums = movement_sums_by_day(days, location_id=ledger.b.pk)
    assert sums == {
        day_at_noon(20).date(): {"value_change": Decimal("20.00"), "units_in": 2, "units_out": 0, "movements": 1},
        day_at_noon(10).date(): {"value_change": Decimal("40.00"), "units_in": 4, "units_out": 0, "movements": 1},
        day_at_noon(3).date(): {"value_change": Decimal("3.00"), "units_in": 3, "units_out": 0, "movements": 1},
        day_at_noon(1).date(): {"value_change": Decimal("-10.00"), "units_in": 0, "units_out": 1, "movements": 1},
    }
    figures = daily_figures(days, location_id=ledger.b.pk)
    assert figures[-1]["stock_value"] == Decimal("53.00")
    assert sum(f["movements"] for f in figures) == 4


def test_one_and_two_day_ranges(staff_client, ledger):
    # Today only: X (26.00 before today, 8.00 after) moved today; Y (50.00) and Z (3.00) did not.
    assert [p["value"] for p in staff_client.get(DATA, {"days": 1}).json()["stock_value"]] == ["61.00"]
    assert [p["value"] for p in staff_client.get(DATA, {"days": 2}).json()["stock_value"]] == ["79.00", "61.00"]


def _brute_force_values(days: DayRange, location_id: int | None) -> list[Decimal]:
    """The definition, literally: per day, per item, the value after its last movement up to that day."""
    movements = StockMovement.objects.select_related("stock_item").order_by("movement_date", "id")
    values = []
    for day in days.days():
        end = DayRange.ending(day, 1).end
        last: dict[int, Decimal] = {}
        for movement in movements:
            in_scope = location_id is None or movement.stock_item.stock_location_id == location_id
            if in_scope and movement.movement_date < end:
                last[movement.stock_item_id] = movement.value_in_stock_after
        values.append(sum(last.values(), Decimal("0.00")))
    return values


def test_matches_the_definition_on_a_random_ledger():
    rng = random.Random(20261125)
    locations = [StockLocationFactory(), StockLocationFactory()]
    items = [StockItemFactory(stock_location=locations[n % 2]) for n in range(6)]
    for _ in range(60):
        item = rng.choice(items)
        item.refresh_from_db()
        when = day_at_noon(rng.randint(1, 25)) + timedelta(minutes=rng.randint(-600, 600))
        if item.count_on_hand > 3 and rng.random() < 0.4:
            # A backdated sale the stock of that day could not cover is refused and writes nothing.
            with contextlib.suppress(StockError):
                services.sell(item, rng.randint(1, 3), movement_date=when)
        else:
            services.receive(item, rng.randint(1, 9), value_per_unit=f"{rng.randint(100, 999) / 100:.2f}",
                             movement_date=when)
    assert StockMovement.objects.filter(action="sold").count() >= 5
    days = DayRange.ending(day_at_noon(0).date(), 20)
    for location_id in (None, locations[0].pk, locations[1].pk):
        got = [row["stock_value"] for row in daily_figures(days, location_id=location_id)]
        assert got == _brute_force_values(days, location_id)
