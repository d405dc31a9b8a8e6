from __future__ import annotations

import pytest

from inventory.models import Action, StockItem, StockMovement
from inventory.services.counts import COUNT_RESOURCE_TYPE
from tests.api.warehouse.conftest import BASE, assert_error, ledger_counts

pytestmark = pytest.mark.django_db
URL = f"{BASE}/adjustments"


def post(client, rows, **headers):
    return client.post(URL, {"adjustments": rows}, format="json", **headers)


def row(item: StockItem, actual, reason: str = "") -> dict:
    return {"product_id": item.variant_id, "warehouse_id": item.stock_location_id, "actual_quantity": actual,
            "reason": reason}


def test_applies_every_row_as_a_counted_movement(stock, manager_client):
    response = post(manager_client, [row(stock.bolt_main, 47, "cycle count"), row(stock.nut_main, 5),
                                     row(stock.bolt_shop, 11, "found a box")])
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert (data["adjustments_processed"], data["total_adjustments"]) == (2, 3)
    bolt, nut, shop = data["adjustments"]
    movement = StockMovement.objects.get(pk=bolt["id"])
    assert (movement.action, movement.quantity, movement.notes) == (Action.COUNTED, -3, "cycle count")
    assert (movement.resource_type, movement.resource_id) == (COUNT_RESOURCE_TYPE, data["reference"])
    assert movement.created_by == manager_client.user
    assert {k: bolt[k] for k in ("product_id", "warehouse_id", "quantity_before", "quantity_after", "adjustment",
                                 "reason")} == {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk,
                                                "quantity_before": 50, "quantity_after": 47, "adjustment": -3,
                                                "reason": "cycle count"}
    assert bolt["created_at"]
    assert (nut["id"], nut["adjustment"], nut["quantity_after"]) == (None, 0, 5)
    assert (shop["adjustment"], shop["quantity_after"]) == (3, 11)
    for item in (stock.bolt_main, stock.nut_main, stock.bolt_shop):
        item.refresh_from_db()
        assert item.last_counted_at is not None
    assert (stock.bolt_main.count_on_hand, stock.nut_main.count_on_hand, stock.bolt_shop.count_on_hand) == (47, 5, 11)


def test_last_counted_shows_in_levels(stock, manager_client):
    post(manager_client, [row(stock.gear_main, 0)])
    level = manager_client.get(BASE, {"product_id": stock.gear.pk}).json()["data"][0]
    assert level["last_counted"] is not None


def test_creates_a_missing_stock_item(stock, manager_client):
    response = post(manager_client, [{"product_id": stock.nut.pk, "warehouse_id": stock.shop.pk,
                                      "actual_quantity": "4"}])
    assert response.status_code == 201
    assert StockItem.objects.get(variant=stock.nut, stock_location=stock.shop).count_on_hand == 4


def test_one_bad_row_changes_nothing_and_is_named_by_index(stock, manager_client):
    before = ledger_counts()
    body = assert_error(post(manager_client, [row(stock.bolt_main, 40), row(stock.nut_main, -2),
                                              row(stock.bolt_shop, 1)]),
                        422, "adjustments[1].actual_quantity")
    assert list(body["details"]) == ["adjustments[1].actual_quantity"]
    assert body["error"] == "1 invalid row (1); nothing was written."
    assert ledger_counts() == before
    assert not StockItem.objects.filter(last_counted_at__isnull=False).exists()


def test_every_bad_row_is_listed(stock, manager_client):
    before = ledger_counts()
    rows = [
        row(stock.bolt_main, 40),  # fine
        {"product_id": 999_999, "warehouse_id": stock.main.pk, "actual_quantity": 1},  # unknown product
        {"product_id": stock.nut.pk, "warehouse_id": 999_999, "actual_quantity": 1},  # unknown warehouse
        row(stock.nut_main, 2.5),  # not a whole number
        row(stock.bolt_shop, "many"),  # not a number
        row(stock.bolt_main, 41),  # the same product and warehouse as row 0
        {"warehouse_id": stock.main.pk},  # missing product and quantity
        "not an object",
        row(stock.gear_main, 10**10),  # out of range
    ]
    body = assert_error(post(manager_client, rows), 422)
    assert body["details"] == {
        "adjustments[1].product_id": ["No product with id 999999."],
        "adjustments[2].warehouse_id": ["No warehouse with id 999999."],
        "adjustments[3].actual_quantity": ["A valid integer is required."],
        "adjustments[4].actual_quantity": ["A valid integer is required."],
        "adjustments[5].product_id": ["Counted twice: the same product and warehouse as row 0."],
        "adjustments[6].product_id": ["This field is required."],
        "adjustments[6].actual_quantity": ["This field is required."],
        "adjustments[7]": ["Each adjustment must be an object."],
        "adjustments[8].actual_quantity": ["Ensure this value is less than or equal to 1000000000."],
    }
    assert body["error"] == "8 invalid rows (1, 2, 3, 4, 5, 6, 7, 8); nothing was written."
    assert ledger_counts() == before


@pytest.mark.parametrize("payload", [{}, {"adjustments": []}, {"adjustments": {"product_id": 1}}, [1]])
def test_needs_a_list_of_rows(stock, manager_client, payload):
    assert_error(manager_client.post(URL, payload, format="json"), 422, "adjustments")


def test_row_limit(stock, manager_client):
    rows = [row(stock.bolt_main, 1)] * 1001
    assert_error(post(manager_client, rows), 422, "adjustments")


def test_viewer_may_not_adjust(stock, viewer_client):
    before = ledger_counts()
    assert_error(post(viewer_client, [row(stock.bolt_main, 1)]), 403)
    assert ledger_counts() == before


def test_idempotent(stock, manager_client):
    rows = [row(stock.bolt_main, 45)]
    first = post(manager_client, rows, HTTP_IDEMPOTENCY_KEY="count-1")
    second = post(manager_client, rows, HTTP_IDEMPOTENCY_KEY="count-1")
    assert second.json() == first.json()
    assert StockMovement.objects.filter(action=Action.COUNTED).count() == 1


def test_a_count_of_many_rows_is_written_set_based(manager_client):
    """Past `ledger_io.MANY_ROWS` rows PostgreSQL writes the items' figures as arrays, their JSON movement
    counters included (a bulk count of 201 rows was a 500 when they went in as Python reprs)."""
    from inventory.services.ledger_io import MANY_ROWS
    from tests.factories import StockItemFactory, StockLocationFactory

    location = StockLocationFactory()
    items = [StockItemFactory(stock_location=location, count_on_hand=5) for _ in range(MANY_ROWS + 1)]
    response = post(manager_client, [row(item, 9 + n) for n, item in enumerate(items)])
    assert response.status_code == 201, response.content
    for n, item in enumerate(items):
        item.refresh_from_db()
        assert (item.count_on_hand, item.movement_counts.get(Action.COUNTED)) == (9 + n, 1)
        assert item.movement_total == StockMovement.objects.filter(stock_item=item).count()
