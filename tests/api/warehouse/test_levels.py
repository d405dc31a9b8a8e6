from __future__ import annotations

import pytest

from inventory.services.allocations import allocate
from tests.api.warehouse.conftest import BASE, assert_error
from tests.factories import StockItemFactory, StockLocationFactory

pytestmark = pytest.mark.django_db


def skus(response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.content
    return [(row["product"]["sku"], row["warehouse"]["name"]) for row in response.json()["data"]]


def test_shape_of_a_level(stock, viewer_client):
    allocate(stock.bolt_main, 15)
    body = viewer_client.get(BASE, {"warehouse_id": stock.main.pk, "product_id": stock.bolt.pk}).json()
    assert body["meta"] == {"total": 1, "page": 1, "limit": 50, "hasMore": False}
    assert body["data"] == [{
        "id": stock.bolt_main.pk,
        "product": {"id": stock.bolt.pk, "name": "Bolt", "sku": "BOLT-1"},
        "warehouse": {"id": stock.main.pk, "name": "Main warehouse", "code": "MAIN"},
        "quantity_on_hand": 50,
        "quantity_allocated": 15,
        "quantity_available": 35,
        "reorder_point": 10,
        "max_stock_level": 100,
        "last_counted": None,
        "backorderable": False,
        "value_in_stock": "100.00",
    }]


def test_all_levels_in_location_then_product_order(stock, viewer_client):
    assert skus(viewer_client.get(BASE)) == [("BOLT-1", "Main warehouse"), ("NUT-1", "Main warehouse"),
                                             ("GEAR-1", "Main warehouse"), ("BOLT-1", "Downtown store")]


def test_filter_by_warehouse(stock, viewer_client):
    assert skus(viewer_client.get(BASE, {"warehouse_id": stock.shop.pk})) == [("BOLT-1", "Downtown store")]


def test_filter_by_product(stock, viewer_client):
    assert skus(viewer_client.get(BASE, {"product_id": stock.bolt.pk})) == [("BOLT-1", "Main warehouse"),
                                                                          ("BOLT-1", "Downtown store")]


def test_low_stock_is_available_at_or_below_reorder_point(stock, viewer_client):
    # bolt at SHOP: 8 on hand, reorder 2; allocating 6 leaves 2 available: low (2 <= 2).
    allocate(stock.bolt_shop, 6)
    assert skus(viewer_client.get(BASE, {"low_stock": "true"})) == [
        ("NUT-1", "Main warehouse"), ("GEAR-1", "Main warehouse"), ("BOLT-1", "Downtown store")]


def test_out_of_stock_is_available_at_or_below_zero(stock, viewer_client):
    allocate(stock.nut_main, 5)  # on hand 5, all reserved
    assert skus(viewer_client.get(BASE, {"out_of_stock": "true"})) == [("NUT-1", "Main warehouse"),
                                                                       ("GEAR-1", "Main warehouse")]


def test_filters_combine(stock, viewer_client):
    assert skus(viewer_client.get(BASE, {"low_stock": "true", "warehouse_id": stock.main.pk,
                                         "product_id": stock.nut.pk})) == [("NUT-1", "Main warehouse")]
    assert skus(viewer_client.get(BASE, {"out_of_stock": "1", "product_id": stock.nut.pk})) == []


def test_false_flags_do_not_filter(stock, viewer_client):
    assert len(skus(viewer_client.get(BASE, {"low_stock": "false", "out_of_stock": "0"}))) == 4


def test_pagination(stock, viewer_client):
    first = viewer_client.get(BASE, {"limit": 3}).json()
    assert first["meta"] == {"total": 4, "page": 1, "limit": 3, "hasMore": True}
    second = viewer_client.get(BASE, {"limit": 3, "page": 2}).json()
    assert second["meta"] == {"total": 4, "page": 2, "limit": 3, "hasMore": False}
    everything = viewer_client.get(BASE).json()["data"]
    assert [r["id"] for r in first["data"] + second["data"]] == [r["id"] for r in everything]
    beyond = viewer_client.get(BASE, {"page": 9}).json()
    assert beyond["data"] == [] and beyond["meta"]["hasMore"] is False


def test_limit_is_capped(stock, viewer_client):
    assert viewer_client.get(BASE, {"limit": 5000}).json()["meta"]["limit"] == 100


@pytest.mark.parametrize("params, field", [
    ({"warehouse_id": "abc"}, "warehouse_id"),
    ({"warehouse_id": "999999"}, "warehouse_id"),
    ({"product_id": "0"}, "product_id"),
    ({"product_id": str(2**70)}, "product_id"),
    ({"low_stock": "maybe"}, "low_stock"),
    ({"out_of_stock": "yes please"}, "out_of_stock"),
    ({"page": "0"}, "page"),
    ({"page": "x"}, "page"),
    ({"limit": "-1"}, "limit"),
])
def test_bad_parameters_are_422_naming_them(stock, viewer_client, params, field):
    assert_error(viewer_client.get(BASE, params), 422, field)


def test_constant_number_of_queries(stock, viewer_client, django_assert_max_num_queries):
    params = {"limit": 100, "warehouse_id": stock.main.pk, "product_id": stock.bolt.pk, "low_stock": "false"}
    viewer_client.get(BASE)  # the key's last_used stamp is written on first use
    with django_assert_max_num_queries(6) as few:
        assert len(viewer_client.get(BASE, params).json()["data"]) == 1
    for _ in range(30):
        StockItemFactory(stock_location=StockLocationFactory(), variant=stock.bolt, count_on_hand=3)
    del params["warehouse_id"]
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = viewer_client.get(BASE, params).json()
    assert body["meta"]["total"] == 32 and len(body["data"]) == 32
