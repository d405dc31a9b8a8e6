"""Analytics figures against values worked out by hand from fixed, dated data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory import services
from inventory.reports import analytics
from inventory.services.allocations import allocate
from tests.api.warehouse.conftest import BASE, assert_error, opened

pytestmark = pytest.mark.django_db
URL = f"{BASE}/analytics"


@pytest.fixture
def history(stock):
    """On top of the stock fixture (opening receipts 100 days ago: bolt 50 @ 2.00 and nut 5 @ 0.50 at MAIN,
    bolt 8 @ 2.00 at SHOP):

    -60d  MAIN bolt received 20 @ 3.00            -> layers 50 @ 2, 20 @ 3
    -20d  MAIN bolt sold 30 (FIFO 30 @ 2 = 60.00) -> 20 @ 2, 20 @ 3
     -5d  MAIN nut sold 2 (1.00)                  -> 3 @ 0.50
     -3d  SHOP bolt returned 1 (at the average 2.00)
     -2d  MAIN nut adjusted -1                    -> 2 @ 0.50
     now  bolt transferred MAIN -> SHOP 5 (5 @ 2 = 10.00)
     now  MAIN gear counted 0 -> 4 (no cost known: 0.00)
     now  SHOP gear stock item, empty; SHOP bolt 12 allocated

    End: MAIN bolt 35 (15 @ 2 + 20 @ 3 = 90.00, reorder 10), MAIN nut 2 (1.00, reorder 10: low),
    MAIN gear 4 (0.00), SHOP bolt 14 (28.00, 12 allocated: 2 available, reorder 2: low),
    SHOP gear 0 (reorder 0: low and out of stock).
    """
    now = timezone.now()
    services.receive(stock.bolt_main, 20, value_per_unit="3.00", movement_date=now - timedelta(days=60))
    services.sell(stock.bolt_main, 30, movement_date=now - timedelta(days=20))
    services.sell(stock.nut_main, 2, movement_date=now - timedelta(days=5))
    services.return_items(stock.bolt_shop, 1, movement_date=now - timedelta(days=3))
    services.adjust(stock.nut_main, -1, movement_date=now - timedelta(days=2))
    services.transfer(stock.main, stock.shop, [(stock.bolt, 5)])
    services.set_count(stock.gear_main, 4)
    gear_shop = opened(stock.shop, stock.gear)
    allocate(stock.bolt_shop, 12)
    return {"now": now, "gear_shop": gear_shop}


def get(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()["data"]


def test_overview_all_warehouses(history, viewer_client):
    assert get(viewer_client, period="7d")["overview"] == {
        "total_products": 3,
        "total_stock_value": "119.00",
        "low_stock_items": 3,
        "out_of_stock_items": 1,
        "total_units": 55,
        "allocated_units": 12,
    }


def test_overview_per_warehouse(history, stock, viewer_client):
    main = get(viewer_client, period="7d", warehouse_id=stock.main.pk)
    shop = get(viewer_client, period="7d", warehouse_id=stock.shop.pk)
    assert main["warehouse_id"] == stock.main.pk
    assert main["overview"] == {"total_products": 3, "total_stock_value": "91.00", "low_stock_items": 1,
                                "out_of_stock_items": 0, "total_units": 41, "allocated_units": 0}
    assert shop["overview"] == {"total_products": 2, "total_stock_value": "28.00", "low_stock_items": 2,
                                "out_of_stock_items": 1, "total_units": 14, "allocated_units": 12}


def test_overview_matches_the_level_filters(history, viewer_client):
    overview = get(viewer_client)["overview"]
    assert overview["low_stock_items"] == viewer_client.get(BASE, {"low_stock": "true"}).json()["meta"]["total"]
    assert overview["out_of_stock_items"] == viewer_client.get(BASE, {"out_of_stock": "true"}).json()["meta"]["total"]


def flows(data: dict) -> tuple:
    t = data["trends"]
    return (t["stock_in"], t["stock_out"], t["adjustments"], t["transfers_in"], t["transfers_out"], t["net_change"],
            t["movements"])


@pytest.mark.parametrize("period, expected", [
    # stock_in, stock_out, adjustments, transfers_in, transfers_out, net_change, movements
    ("7d", (1, 2, 3, 5, 5, 2, 6)),
    ("30d", (1, 32, 3, 5, 5, -28, 7)),
    ("90d", (21, 32, 3, 5, 5, -8, 8)),
    ("1y", (84, 32, 3, 5, 5, 55, 11)),
])
def test_trends_over_each_period(history, viewer_client, period, expected):
    assert flows(get(viewer_client, period=period)) == expected


def test_trends_per_warehouse(history, stock, viewer_client):
    assert flows(get(viewer_client, period="30d", warehouse_id=stock.main.pk)) == (0, 32, 3, 0, 5, -34, 5)
    assert flows(get(viewer_client, period="30d", warehouse_id=stock.shop.pk)) == (1, 0, 0, 5, 0, 6, 2)


def test_daily_series_covers_every_day(history, viewer_client):
    data = get(viewer_client, period="7d")
    daily = data["trends"]["daily"]
    now = history["now"]
    assert [d["date"] for d in daily] == [(now - timedelta(days=n)).date().isoformat() for n in range(7, -1, -1)]
    by_day = {d["date"]: d for d in daily}
    assert by_day[(now - timedelta(days=5)).date().isoformat()]["stock_out"] == 2
    assert by_day[(now - timedelta(days=3)).date().isoformat()]["stock_in"] == 1
    assert by_day[(now - timedelta(days=2)).date().isoformat()]["adjustments"] == -1
    for name in ("stock_in", "stock_out", "adjustments", "transfers_in", "transfers_out", "movements"):
        assert sum(d[name] for d in daily) == data["trends"][name]


def test_top_movers_by_units_sold(history, stock, viewer_client):
    assert get(viewer_client, period="30d")["top_movers"] == [
        {"product": {"id": stock.bolt.pk, "name": "Bolt", "sku": "BOLT-1"}, "units_sold": 30,
         "cost_of_goods_sold": "60.00", "sales": 1},
        {"product": {"id": stock.nut.pk, "name": "Nut", "sku": "NUT-1"}, "units_sold": 2,
         "cost_of_goods_sold": "1.00", "sales": 1},
    ]
    assert [m["product"]["sku"] for m in get(viewer_client, period="7d")["top_movers"]] == ["NUT-1"]
    assert get(viewer_client, period="30d", warehouse_id=stock.shop.pk)["top_movers"] == []


def test_low_stock_alerts_most_urgent_first(history, stock, viewer_client):
    alerts = get(viewer_client)["low_stock_alerts"]
    assert [(a["id"], a["quantity_available"], a["reorder_point"], a["shortfall"]) for a in alerts] == [
        (stock.nut_main.pk, 2, 10, 8), (stock.bolt_shop.pk, 2, 2, 0), (history["gear_shop"].pk, 0, 0, 0)]
    assert alerts[0]["product"]["sku"] == "NUT-1" and alerts[0]["warehouse"]["name"] == "Main warehouse"
    assert [a["id"] for a in get(viewer_client, warehouse_id=stock.main.pk)["low_stock_alerts"]] == [stock.nut_main.pk]


def test_period_echoed(history, viewer_client):
    period = get(viewer_client, period="90d")["period"]
    assert period["name"] == "90d"
    assert get(viewer_client)["period"]["name"] == "30d"  # the default


@pytest.mark.parametrize("params, field", [({"period": "2w"}, "period"), ({"period": "7D"}, "period"),
                                           ({"warehouse_id": "999999"}, "warehouse_id"),
                                           ({"warehouse_id": "main"}, "warehouse_id")])
def test_bad_parameters(history, viewer_client, params, field):
    body = assert_error(viewer_client.get(URL, params), 422, field)
    if field == "period":
        assert "7d, 30d, 90d, 1y" in body["error"]


def test_constant_number_of_queries(history, stock, viewer_client, django_assert_max_num_queries):
    get(viewer_client)
    with django_assert_max_num_queries(8) as few:
        get(viewer_client, period="1y", warehouse_id=stock.main.pk)
    for n in range(10):
        services.sell(stock.bolt_main, 1)
        product = services.create_product(name="Extra", slug=f"extra-{n}", sku=f"X-{n}")
        opened(stock.main, product.variants.get(), 3, "1.00", reorder_point=5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        data = get(viewer_client, period="1y", warehouse_id=stock.main.pk)
    assert data["overview"]["low_stock_items"] == 11


def test_reusable_functions(history, stock):
    window = analytics.window_for("7d")
    assert analytics.overview(location_id=stock.main.pk)["total_stock_value"] == Decimal("91.00")
    assert analytics.trends(window)["stock_out"] == 2
    assert len(analytics.daily_flows(window)) == 8
    with pytest.raises(ValueError):
        analytics.window_for("forever")


def test_empty_database(db, viewer_client):
    data = get(viewer_client, period="7d")
    assert data["overview"] == {"total_products": 0, "total_stock_value": "0.00", "low_stock_items": 0,
                                "out_of_stock_items": 0, "total_units": 0, "allocated_units": 0}
    assert data["top_movers"] == [] and data["low_stock_alerts"] == []
