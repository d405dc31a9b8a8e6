"""Issue 15's dashboard changes: money with its currency, low-stock rows that link to the item, items never
stocked left out of low stock unless they have a reorder point, and the "movements today" panel.
Also the site's icon and the browsable API's login link."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from inventory import services
from inventory.management.commands.seed_demo import DEMO_CURRENCY
from tests.dashboard.ledger import day_at_noon
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db

PAGE = "/dashboard/"
DATA = "/dashboard/data.json"


def test_money_comes_with_the_currency_of_the_setting(staff_client, settings, ledger):
    assert settings.STOCKROOM_CURRENCY == DEMO_CURRENCY == "USD"
    data = staff_client.get(DATA).json()
    assert data["currency"] == "USD"
    assert data["overview"]["total_stock_value"] == "61.00"
    page = staff_client.get(PAGE).content.decode()
    assert 'data-currency="USD"' in page and "Stock value (USD)" in page

    settings.STOCKROOM_CURRENCY = "EUR"
    assert staff_client.get(DATA).json()["currency"] == "EUR"
    assert "Stock value (EUR)" in staff_client.get(PAGE).content.decode()


def test_low_stock_rows_link_to_their_stock_item(staff_client, ledger):
    rows = staff_client.get(DATA).json()["low_stock"]
    assert [row["url"] for row in rows] == [f"/admin/inventory/stockitem/{ledger.x.pk}/change/",
                                            f"/admin/inventory/stockitem/{ledger.y.pk}/change/"]
    assert staff_client.get(rows[0]["url"]).status_code == 200  # the link opens for staff


def test_never_stocked_items_are_not_low_stock_unless_they_have_a_reorder_point(staff_client, ledger):
    # Propagation gives every variant an item at every location: these never had a movement.
    for n in range(5):
        StockItemFactory(stock_location=ledger.a, variant=VariantFactory(sku=f"NEVER-{n}"))
    StockItemFactory(stock_location=ledger.a, variant=VariantFactory(sku="NEVER-WATCHED"), reorder_point=3)
    # Stocked once and sold out: out of stock for real, whatever its reorder point.
    sold_out = StockItemFactory(stock_location=ledger.a, variant=VariantFactory(sku="SOLD-OUT"))
    services.receive(sold_out, 2, value_per_unit="1.00")
    services.sell(sold_out, 2)

    data = staff_client.get(DATA).json()
    skus = [row["sku"] for row in data["low_stock"]]
    assert sorted(skus) == ["DASH-X", "DASH-Y", "NEVER-WATCHED", "SOLD-OUT"]
    assert data["overview"]["low_stock_items"] == 4
    assert data["overview"]["out_of_stock_items"] == 2  # NEVER-WATCHED and SOLD-OUT
    at_a = staff_client.get(DATA, {"location": ledger.a.pk}).json()
    assert sorted(row["sku"] for row in at_a["low_stock"]) == ["DASH-X", "NEVER-WATCHED", "SOLD-OUT"]


def test_the_api_keeps_the_contract_rule_for_low_stock(admin_client_api, ledger):
    # The warehouse API's definition is the contract's (available <= reorder_point), unchanged.
    StockItemFactory(stock_location=ledger.a, variant=VariantFactory(sku="NEVER-API"))
    body = admin_client_api.get("/api/v1/inventory/analytics", {"warehouse_id": ledger.a.pk}).json()
    assert "NEVER-API" in [row["product"]["sku"] for row in body["data"]["low_stock_alerts"]]


def test_movements_today_panel(staff_client, ledger):
    # build_ledger sold 6 of X today; add a receipt today at B and a movement backdated to yesterday.
    services.receive(ledger.z, 7, value_per_unit="1.00")
    services.receive(ledger.z, 1, value_per_unit="1.00", movement_date=day_at_noon(1))
    today = staff_client.get(DATA).json()["today"]
    assert today["count"] == 2 and today["units_in"] == 7 and today["units_out"] == 6
    assert [(m["sku"], m["action"], m["quantity"]) for m in today["movements"]] == [
        ("DASH-Z", "received", 7), ("DASH-X", "sold", -6)]
    newest = today["movements"][0]
    assert newest["url"] == f"/admin/inventory/stockmovement/{newest['id']}/change/"
    assert newest["location"]["code"] == "DASHB"

    at_a = staff_client.get(DATA, {"location": ledger.a.pk}).json()["today"]
    assert at_a["count"] == 1 and [m["sku"] for m in at_a["movements"]] == ["DASH-X"]
    page = staff_client.get(PAGE).content.decode()
    assert 'id="today-panel"' in page and "Movements today" in page


def test_movements_today_lists_the_newest_and_counts_them_all(staff_client, settings):
    location = StockLocationFactory()
    item = StockItemFactory(stock_location=location)
    now = timezone.localtime()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    dates = [midnight + (now - midnight) * (n + 1) / 24 for n in range(23)]  # all earlier today
    for when in dates:
        services.receive(item, 1, value_per_unit="1.00", movement_date=when)
    services.receive(item, 4, value_per_unit="1.00", movement_date=midnight - timedelta(seconds=1))  # yesterday
    today = staff_client.get(DATA).json()["today"]
    assert today["count"] == 23 and today["units_in"] == 23
    assert [m["movement_date"] for m in today["movements"]] == [d.isoformat() for d in reversed(dates)][:20]


def test_the_dashboard_links_to_the_scan_page(staff_client, ledger):
    page = staff_client.get(PAGE, {"location": ledger.a.pk}).content.decode()
    assert f'href="/floor/count/?location={ledger.a.pk}"' in page


def test_favicon_is_served(client):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [("/static/favicon.ico", 301)]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_browsable_api_401_page_has_a_login_link(client):
    response = client.get("/api/v1/stock_locations", HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    page = response.content.decode()
    assert "<a href='/api-auth/login/?next=/api/v1/stock_locations'>Log in</a>" in page
    login = client.get("/api-auth/login/?next=/api/v1/stock_locations")
    assert login.status_code == 200 and 'name="password"' in login.content.decode()


@pytest.mark.parametrize("value, accepted", [("eur", True), ("GBP", True), ("dollars", False), ("E1R", False)])
def test_the_currency_setting_is_checked_at_start(value, accepted):
    env = {**os.environ, "STOCKROOM_CURRENCY": value, "SECRET_KEY": "x"}
    done = subprocess.run([sys.executable, "-c", "import config.settings as s; print(s.STOCKROOM_CURRENCY)"],
                          env=env, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    if accepted:
        assert done.returncode == 0 and done.stdout.strip() == value.upper()
    else:
        assert done.returncode != 0 and "STOCKROOM_CURRENCY=" in done.stderr and "three-letter ISO 4217" in done.stderr
