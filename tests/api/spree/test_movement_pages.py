"""The movements index reads a page as a deferred join (the page's ids from the ledger alone, then those
rows with their joins): every page must be exactly the plain OFFSET page, whatever the sort, ties and
NULLs included; and a page, first or deep, costs a fixed number of queries."""

from __future__ import annotations

from decimal import Decimal
from itertools import cycle

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import services
from inventory.api.common.pagination import deferred_page
from inventory.api.spree import filters as searches
from inventory.models import Action, StockItem, StockMovement
from inventory.search import ransack
from inventory.selectors import movement_counts
from inventory.selectors.movements import spree_rows as movements_queryset
from tests.api.spree.conftest import API
from tests.factories import ProductFactory, StockItemFactory, VariantFactory

pytestmark = pytest.mark.django_db

SORTABLE = sorted(name for name, attribute in searches.STOCK_MOVEMENTS.attributes().items() if attribute.sortable)


@pytest.fixture
def ledger(main, shop):
    """Twenty-odd movements at MAIN over four variants, full of ties (same quantities, actions, variants,
    one created_at shared by half of them) and NULLs (cost_price, weight, max_stock_level, last_counted_at
    set on some only); a few at SHOP, which no page of MAIN may show."""
    variants = [
        VariantFactory(product=ProductFactory(name="Tote"), sku="ROR-1", cost_price=Decimal("4.0000")),
        VariantFactory(product=ProductFactory(name="Mug"), sku="MUG-1", weight=Decimal("0.40")),
        VariantFactory(product=ProductFactory(name="Cap"), sku="CAP-1"),
        VariantFactory(product=ProductFactory(name="Mug"), sku="MUG-2", cost_price=Decimal("2.0000")),
    ]
    items = [StockItemFactory(stock_location=main, variant=v, count_on_hand=30) for v in variants]
    StockItem.objects.filter(pk=items[0].pk).update(max_stock_level=50)
    for item, quantity in zip(cycle(items), [2, 2, 3, 2, 3, 3, 2, 2, 1, 2, 3, 2]):
        services.sell(item, quantity)
    services.set_count(items[1], 25)
    services.set_count(items[2], 25)
    services.receive(items[3], 2)
    services.receive(items[3], 2)
    StockItemFactory(stock_location=shop, variant=variants[0], count_on_hand=9)
    services.sell(StockItem.objects.get(stock_location=shop, variant=variants[0]), 2)
    mains = StockMovement.objects.filter(stock_location=main).order_by("pk")
    StockMovement.objects.filter(pk__in=list(mains.values_list("pk", flat=True)[::2])).update(
        created_at=timezone.now())
    return mains


def plain_and_deferred(queryset, offset: int, limit: int) -> tuple[list[int], list[int]]:
    plain = [m.pk for m in queryset[offset : offset + limit]]
    return plain, [m.pk for m in deferred_page(queryset, movements_queryset(), offset, limit)]


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_every_page_of_every_sort_is_the_offset_page(ledger, main, direction):
    total = ledger.count()
    assert total == 20
    for name in SORTABLE:
        search = ransack.parse({"q[s]": f"{name} {direction}"}, searches.STOCK_MOVEMENTS)
        queryset = search.apply(StockMovement.objects.filter(stock_location=main))
        for per_page in (3, 7):
            walked = []
            for offset in range(0, total + per_page, per_page):
                plain, deferred = plain_and_deferred(queryset, offset, per_page)
                assert deferred == plain, (name, direction, per_page, offset)
                walked += deferred
            assert sorted(walked) == sorted(ledger.values_list("pk", flat=True)), (name, per_page)


def test_default_order_filters_and_multiple_sorts(ledger, main):
    for params in ({}, {"q[action_eq]": "sold", "q[s]": "created_at desc"},
                   {"q[stock_item_variant_product_name_eq]": "Mug", "q[s]": "quantity asc, created_at desc"},
                   {"q[stock_item_stock_location_id_eq]": str(main.pk), "q[s]": "stock_item_variant_sku desc"}):
        queryset = ransack.parse(params, searches.STOCK_MOVEMENTS).apply(StockMovement.objects.filter(
            stock_location=main))
        for offset in range(0, 25, 3):
            plain, deferred = plain_and_deferred(queryset, offset, 3)
            assert deferred == plain, (params, offset)


def test_api_pages_walk_the_whole_ordered_ledger(viewer_client, main, ledger):
    sold = ledger.filter(action="sold")
    expected = [m.pk for m in sorted(sold, key=lambda m: (m.created_at, m.pk), reverse=True)]
    walked, page = [], 1
    while True:
        body = viewer_client.get(f"{API}/stock_locations/{main.pk}/stock_movements",
                                 {"q[action_eq]": "sold", "q[s]": "created_at desc", "per_page": 5,
                                  "page": page}).json()
        assert body["total_count"] == len(expected)
        if not body["stock_movements"]:
            break
        walked += [m["id"] for m in body["stock_movements"]]
        page += 1
    assert walked == expected
    assert page == body["pages"] + 1


def test_rows_carry_the_same_stock_totals_as_attach_stock_totals(viewer_client, main, shop, ledger):
    body = viewer_client.get(f"{API}/stock_locations/{main.pk}/stock_movements", {"per_page": 100}).json()
    for row in body["stock_movements"]:
        variant = row["stock_item"]["variant"]
        items = StockItem.objects.filter(variant_id=variant["id"])
        assert variant["total_on_hand"] == sum(i.count_on_hand for i in items)
        assert variant["is_backorderable"] == any(i.backorderable for i in items)


@pytest.mark.parametrize("page", [1, 6])
def test_a_first_or_deep_page_costs_four_queries_with_the_key_lookup(viewer_client, main, ledger, page,
                                                                      django_assert_max_num_queries):
    url = (f"{API}/stock_locations/{main.pk}/stock_movements"
           f"?q[action_eq]=sold&q[s]=created_at desc&per_page=2&page={page}")
    viewer_client.get(url)  # the key's first request also stamps its last_used
    # API key, location, count, and the page's rows with their ids subquery and stock totals.
    with django_assert_max_num_queries(4):
        response = viewer_client.get(url)
    assert response.json()["count"] == 2


def test_the_count_and_the_page_ids_read_the_ledger_alone(viewer_client, main, ledger):
    url = (f"{API}/stock_locations/{main.pk}/stock_movements"
           "?q[action_eq]=sold&q[quantity_lt]=-1&q[s]=created_at desc&page=2&per_page=3")
    viewer_client.get(url)
    with CaptureQueriesContext(connection) as captured:
        viewer_client.get(url)
    movement_queries = [q["sql"] for q in captured.captured_queries if "inventory_stockmovement" in q["sql"]]
    count, rows = movement_queries
    assert "COUNT(" in count and "JOIN" not in count
    ids = rows[rows.index("IN (SELECT"):]
    assert "JOIN" not in ids and "OFFSET" in ids


ACTION_SEARCHES = [
    {},
    {"q[action_eq]": "sold"},
    {"q[action_eq]": "received", "q[s]": "created_at desc"},
    {"q[action_in][]": ["sold", "counted"]},
    {"q[action_not_eq]": "sold"},
    {"q[action_not_in][]": ["sold", "received"]},
    {"q[action_eq]": "sold", "q[action_in][]": ["sold", "counted"]},
    {"q[action_eq]": "sold", "q[action_not_eq]": "sold"},
    {"q[action_eq]": "transferred_in"},
    {"q[action_eq]": ""},  # an empty value is no condition, as in ransack
]


@pytest.mark.parametrize("params", ACTION_SEARCHES)
def test_a_search_by_action_alone_is_counted_from_the_item_counters(viewer_client, main, ledger, params):
    search = ransack.parse(params, searches.STOCK_MOVEMENTS)
    expected = search.apply(StockMovement.objects.filter(stock_location=main)).count()
    actions = movement_counts.actions_searched(search.terms)
    assert actions is not None
    url = f"{API}/stock_locations/{main.pk}/stock_movements"
    viewer_client.get(url, params)
    with CaptureQueriesContext(connection) as captured:
        body = viewer_client.get(url, params).json()
    assert body["total_count"] == expected
    assert body["pages"] == -(-expected // 25)
    # The count reads the location's stock items, never its ledger.
    assert not any("COUNT(" in q["sql"] and "inventory_stockmovement" in q["sql"].split("WHERE")[0]
                   for q in captured.captured_queries)
    # No action can match (sold and not sold): nothing to read at all.
    # The unfiltered count (every action) sums the items' totals, one integer each.
    counters = "movement_total" if actions == set(Action.values) else "movement_counts"
    assert any(counters in q["sql"] for q in captured.captured_queries) == bool(actions)


def test_other_searches_still_count_the_ledger(viewer_client, main, ledger):
    params = {"q[action_eq]": "sold", "q[stock_item_variant_sku_eq]": "MUG-1"}
    expected = ledger.filter(action="sold", stock_item__variant__sku="MUG-1").count()
    assert expected > 0
    body = viewer_client.get(f"{API}/stock_locations/{main.pk}/stock_movements", params).json()
    assert body["total_count"] == expected == len(body["stock_movements"])


def test_the_counted_total_follows_writes_at_once(manager_client, main, ledger):
    url = f"{API}/stock_locations/{main.pk}/stock_movements"
    before = manager_client.get(url, {"q[action_eq]": "sold"}).json()["total_count"]
    every = manager_client.get(url).json()["total_count"]
    item = StockItem.objects.filter(stock_location=main).order_by("pk").first()
    created = manager_client.post(url, {"stock_movement": {"stock_item_id": item.pk, "quantity": -1,
                                                            "action": "sold"}}, format="json")
    assert created.status_code == 201, created.content
    assert manager_client.get(url, {"q[action_eq]": "sold"}).json()["total_count"] == before + 1
    assert manager_client.get(url).json()["total_count"] == every + 1 == StockMovement.objects.filter(
        stock_location=main).count()
    services.delete_movement(created.json()["id"])
    assert manager_client.get(url, {"q[action_eq]": "sold"}).json()["total_count"] == before
    assert manager_client.get(url).json()["total_count"] == every
