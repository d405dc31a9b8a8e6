"""Search, sort and pagination together on the Spree indexes, and the cost of a page in queries."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import services
from tests.api.spree.conftest import API, assert_spree_422
from tests.factories import ProductFactory, StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(main):
    """Three stocked variants at MAIN; ROR-00011 has received 10, 20, 30 and sold 5; others received once."""
    ror = VariantFactory(sku="ROR-00011", product=ProductFactory(name="Tote"))
    mug = VariantFactory(sku="MUG-00001", product=ProductFactory(name="Mug"), price=Decimal("8.00"))
    cap = VariantFactory(sku="CAP-00001", product=ProductFactory(name="Cap"))
    ror_item = StockItemFactory(stock_location=main, variant=ror)
    for qty in (10, 20, 30):
        services.receive(ror_item, qty)
    services.sell(ror_item, 5)
    StockItemFactory(stock_location=main, variant=mug, count_on_hand=7)
    StockItemFactory(stock_location=main, variant=cap, count_on_hand=3)
    return {"ror": ror_item}


def movements(client, location, query: str):
    return client.get(f"{API}/stock_locations/{location.pk}/stock_movements?{query}")


def test_search_sort_and_paginate_together(viewer_client, main, ledger):
    query = "q[stock_item_variant_sku_eq]=ROR-00011&q[action_eq]=received&q[s]=quantity desc&per_page=2"
    first = movements(viewer_client, main, query).json()
    assert [m["quantity"] for m in first["stock_movements"]] == [30, 20]
    assert (first["count"], first["total_count"], first["current_page"], first["pages"], first["per_page"]) == (
        2, 3, 1, 2, 2)
    second = movements(viewer_client, main, query + "&page=2").json()
    assert [m["quantity"] for m in second["stock_movements"]] == [10]
    assert (second["count"], second["current_page"]) == (1, 2)
    beyond = movements(viewer_client, main, query + "&page=3").json()
    assert (beyond["stock_movements"], beyond["count"], beyond["total_count"]) == ([], 0, 3)


def test_in_as_repeated_params_and_as_comma_list(viewer_client, main, ledger):
    repeated = movements(viewer_client, main, "q[stock_item_variant_sku_in][]=MUG-00001&"
                                             "q[stock_item_variant_sku_in][]=CAP-00001&q[s]=quantity asc").json()
    comma = movements(viewer_client, main, "q[stock_item_variant_sku_in]=MUG-00001,CAP-00001&q[s]=quantity asc").json()
    assert [m["quantity"] for m in repeated["stock_movements"]] == [3, 7]
    assert comma == repeated


def test_several_sorts(viewer_client, main, ledger):
    body = movements(viewer_client, main, "q[s][]=stock_item_variant_sku asc&q[s][]=quantity desc").json()
    assert [(m["stock_item"]["variant"]["sku"], m["quantity"]) for m in body["stock_movements"]] == [
        ("CAP-00001", 3), ("MUG-00001", 7), ("ROR-00011", 30), ("ROR-00011", 20), ("ROR-00011", 10),
        ("ROR-00011", -5)]
    comma = movements(viewer_client, main, "q[s]=stock_item_variant_sku asc, quantity desc").json()
    assert comma == body


def test_default_order_is_newest_first(viewer_client, main, ledger):
    body = movements(viewer_client, main, "").json()
    assert [m["quantity"] for m in body["stock_movements"]] == [3, 7, -5, 30, 20, 10]


def test_stock_item_id_and_stock_item_variant_id_are_not_confused(viewer_client, main, ledger):
    ror = ledger["ror"]
    by_item = movements(viewer_client, main, f"q[stock_item_id_eq]={ror.pk}").json()
    by_variant = movements(viewer_client, main, f"q[stock_item_variant_id_eq]={ror.variant_id}").json()
    assert by_item["total_count"] == by_variant["total_count"] == 4
    assert movements(viewer_client, main, f"q[stock_item_id_eq]={ror.variant_id + 1000}").json()["total_count"] == 0


def test_typed_values_and_dates(viewer_client, main, ledger):
    assert movements(viewer_client, main, "q[quantity_lt]=0").json()["total_count"] == 1
    assert movements(viewer_client, main, "q[movement_date_gteq]=2000-01-01").json()["total_count"] == 6
    assert movements(viewer_client, main, "q[movement_date_lt]=2000-01-01T00:00:00Z").json()["total_count"] == 0
    assert movements(viewer_client, main, "q[stock_item_variant_price_lt]=10").json()["total_count"] == 1
    assert movements(viewer_client, main, "q[stock_item_variant_product_name_i_cont]=TOT").json()["total_count"] == 4


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("q[quantity_like]=3", "q[quantity_like]"),
        ("q[bogus_eq]=3", "q[bogus_eq]"),
        ("q[created_by_username_eq]=admin", "q[created_by_username_eq]"),
        ("q[stock_item__variant__sku_eq]=X", "q[stock_item__variant__sku_eq]"),
        ("q[quantity_eq]=abc", "q[quantity_eq]"),
        ("q[movement_date_gt]=soon", "q[movement_date_gt]"),
        ("q[action_eq]=stolen", "q[action_eq]"),
        ("q[s]=quantity; DROP TABLE inventory_stockmovement", "q[s]"),
        ("q[s]=quantity asc, (SELECT 1)", "q[s]"),
        ("q[s]=created_by asc", "q[s]"),
        ("q[s]=quantity upward", "q[s]"),
        ("q=abc", "q"),
    ],
)
def test_bad_search_is_a_422_naming_the_parameter(viewer_client, main, ledger, query, param):
    errors = assert_spree_422(movements(viewer_client, main, query.replace(";", "%3B")))
    assert list(errors) == [param]


@pytest.mark.parametrize(
    ("query", "param"),
    [("page=0", "page"), ("page=-1", "page"), ("page=abc", "page"), (f"page={10**30}", "page"),
     ("per_page=0", "per_page"), ("per_page=-5", "per_page"), ("per_page=ten", "per_page"), ("page=1.5", "page")],
)
def test_bad_paging_is_a_422_naming_the_parameter(viewer_client, main, ledger, query, param):
    errors = assert_spree_422(movements(viewer_client, main, query))
    assert list(errors) == [param]


@pytest.mark.parametrize("per_page", ["101", "1000", str(10**30)])
def test_per_page_is_capped_at_100(viewer_client, main, ledger, per_page):
    body = movements(viewer_client, main, f"per_page={per_page}").json()
    assert (body["per_page"], body["count"], body["pages"]) == (100, 6, 1)


def test_other_indexes_search_and_sort(viewer_client, main, ledger):
    items = viewer_client.get(f"{API}/stock_locations/{main.pk}/stock_items?q[count_on_hand_lt]=10"
                              "&q[s]=count_on_hand asc").json()
    assert [i["variant"]["sku"] for i in items["stock_items"]] == ["CAP-00001", "MUG-00001"]
    products = viewer_client.get(f"{API}/products?q[variants_including_master_sku_start]=MUG").json()
    assert [p["name"] for p in products["products"]] == ["Mug"]
    products = viewer_client.get(f"{API}/products?q[s]=name asc&per_page=2&page=2").json()
    assert ([p["name"] for p in products["products"]], products["pages"]) == (["Tote"], 2)
    locations = viewer_client.get(f"{API}/stock_locations?q[code_eq]=MAIN").json()
    assert [loc["id"] for loc in locations["stock_locations"]] == [main.pk]
    variants = viewer_client.get(f"{API}/products/{ledger['ror'].variant.product_id}/variants"
                                 "?q[sku_end]=011").json()
    assert variants["total_count"] == 1
    assert_spree_422(viewer_client.get(f"{API}/products?q[s]=variants_including_master_sku asc"), "q[s]")
    assert_spree_422(viewer_client.get(f"{API}/stock_locations?q[name_true]=1"), "q[name_true]")


# --- constant cost per page -----------------------------------------------------------------------------------------


def _stock(location, n: int) -> None:
    """n more products, locations and movements: each variant is stocked here and at a new location."""
    for i in range(n):
        variant = VariantFactory(product=ProductFactory(name=f"P{i}"))
        StockItemFactory(stock_location=location, variant=variant, count_on_hand=i + 1)
        StockItemFactory(stock_location=StockLocationFactory(), variant=variant, count_on_hand=1)


def _queries(client, url: str) -> int:
    client.get(url)  # warm up: the first request of a key also stamps its last_used
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "path",
    [
        "/stock_locations/{loc}/stock_movements?per_page=100",
        "/stock_locations/{loc}/stock_items?per_page=100&q[variant_product_name_start]=P",
        "/products?per_page=100",
        "/stock_locations?per_page=100",
    ],
)
def test_a_page_costs_the_same_queries_for_3_or_30_rows(viewer_client, main, django_assert_max_num_queries, path):
    url = API + path.format(loc=main.pk)
    _stock(main, 3)
    few = _queries(viewer_client, url)
    _stock(main, 27)
    with django_assert_max_num_queries(few):
        response = viewer_client.get(url)
    assert response.json()["count"] >= 4  # the page really grew
    assert few <= 6


def test_product_variants_page_is_constant(viewer_client, main, django_assert_max_num_queries):
    product = ProductFactory()
    for _ in range(3):
        VariantFactory(product=product)
    url = f"{API}/products/{product.pk}/variants?per_page=100"
    few = _queries(viewer_client, url)
    for _ in range(27):
        VariantFactory(product=product)
    with django_assert_max_num_queries(few):
        assert viewer_client.get(url).json()["count"] == 30
