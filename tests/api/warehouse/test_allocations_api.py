from __future__ import annotations

import pytest

from inventory.models import Action, Allocation, StockItem, StockMovement
from inventory.services.allocations import allocate
from tests.api.warehouse.conftest import BASE, assert_error, ledger_counts
from tests.factories import StockItemFactory

pytestmark = pytest.mark.django_db
URL = f"{BASE}/allocations"


def reserve(client, stock, quantity, item=None, **extra):
    item = item or stock.bolt_main
    return client.post(URL, {"product_id": item.variant_id, "warehouse_id": item.stock_location_id,
                             "quantity": quantity, **extra}, format="json")


def fresh(item: StockItem) -> StockItem:
    item.refresh_from_db()
    return item


def test_allocate(stock, manager_client):
    response = reserve(manager_client, stock, 20, reference_type="order", reference_id="R100")
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    allocation = Allocation.objects.get(pk=data["id"])
    assert data["status"] == "allocated" and allocation.status == "allocated"
    assert {k: data[k] for k in ("product_id", "warehouse_id", "stock_item_id", "quantity", "reference_type",
                                 "reference_id", "fulfilment_movement_id")} == {
        "product_id": stock.bolt.pk, "warehouse_id": stock.main.pk, "stock_item_id": stock.bolt_main.pk,
        "quantity": 20, "reference_type": "order", "reference_id": "R100", "fulfilment_movement_id": None}
    assert data["created_by"]["id"] == manager_client.user.pk
    item = fresh(stock.bolt_main)
    assert (item.count_on_hand, item.quantity_allocated) == (50, 20)
    level = manager_client.get(BASE, {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk}).json()
    assert level["data"][0]["quantity_available"] == 30


def test_over_allocation_is_refused(stock, manager_client):
    reserve(manager_client, stock, 45)
    before = ledger_counts()
    body = assert_error(reserve(manager_client, stock, 6), 422, "quantity")
    assert "Only 5 of BOLT-1 available" in body["error"]
    assert ledger_counts() == before


def test_backorderable_item_may_be_over_allocated(stock, manager_client):
    item = StockItemFactory(stock_location=stock.shop, variant=stock.nut, backorderable=True)
    response = reserve(manager_client, stock, 3, item=item)
    assert response.status_code == 201
    assert fresh(item).quantity_allocated == 3


def test_release(stock, manager_client):
    allocation_id = reserve(manager_client, stock, 10).json()["data"]["id"]
    response = manager_client.post(f"{URL}/{allocation_id}/release")
    assert response.status_code == 200, response.content
    assert response.json()["data"]["status"] == "released"
    assert fresh(stock.bolt_main).quantity_allocated == 0
    assert_error(manager_client.post(f"{URL}/{allocation_id}/release"), 422, "status")


def test_fulfil_ships_a_sold_movement(stock, manager_client):
    allocation_id = reserve(manager_client, stock, 10, reference_type="order", reference_id="R5").json()["data"]["id"]
    response = manager_client.post(f"{URL}/{allocation_id}/fulfil")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    movement = StockMovement.objects.get(pk=data["fulfilment_movement_id"])
    assert data["status"] == "fulfilled"
    assert (movement.action, movement.quantity, movement.resource_type, movement.resource_id) == (
        Action.SOLD, -10, "order", "R5")
    item = fresh(stock.bolt_main)
    assert (item.count_on_hand, item.quantity_allocated) == (40, 0)
    before = ledger_counts()
    assert_error(manager_client.post(f"{URL}/{allocation_id}/fulfil"), 422, "status")
    assert_error(manager_client.post(f"{URL}/{allocation_id}/release"), 422, "status")
    assert ledger_counts() == before


def test_fulfil_refused_when_stock_is_gone(stock, manager_client):
    allocation = allocate(stock.nut_main, 5)
    manager_client.post(f"{BASE}/movements", {"product_id": stock.nut.pk, "warehouse_id": stock.main.pk,
                                              "movement_type": "out", "quantity": 2}, format="json")
    before = ledger_counts()
    assert_error(manager_client.post(f"{URL}/{allocation.pk}/fulfil"), 422, "quantity")
    assert ledger_counts() == before


def test_unknown_allocation_is_404(stock, manager_client):
    for url in (f"{URL}/999999", f"{URL}/999999/release", f"{URL}/99999999999999999999999/fulfil"):
        method = manager_client.get if url.endswith("999") else manager_client.post
        assert_error(method(url), 404)


def test_detail_and_list_with_filters(stock, manager_client):
    a = allocate(stock.bolt_main, 1, reference_type="order", reference_id="R1")
    b = allocate(stock.bolt_shop, 2, reference_type="order", reference_id="R2")
    c = allocate(stock.nut_main, 3, reference_type="quote", reference_id="Q1")
    manager_client.post(f"{URL}/{c.pk}/release")

    def ids(**params):
        response = manager_client.get(URL, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["data"]]

    assert ids() == [c.pk, b.pk, a.pk]
    assert ids(warehouse_id=stock.shop.pk) == [b.pk]
    assert ids(product_id=stock.bolt.pk) == [b.pk, a.pk]
    assert ids(status="released") == [c.pk]
    assert ids(reference_type="order", reference_id="R1") == [a.pk]
    assert manager_client.get(f"{URL}/{a.pk}").json()["data"]["quantity"] == 1
    assert_error(manager_client.get(URL, {"status": "lost"}), 422, "status")


@pytest.mark.parametrize("changes, field", [
    ({"quantity": 0}, "quantity"),
    ({"quantity": -1}, "quantity"),
    ({"quantity": "x"}, "quantity"),
    ({"product_id": 999999}, "product_id"),
    ({"warehouse_id": 999999}, "warehouse_id"),
    ({"reference_id": "r" * 65}, "reference_id"),
])
def test_bad_input(stock, manager_client, changes, field):
    before = ledger_counts()
    body = {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk, "quantity": 1, **changes}
    assert_error(manager_client.post(URL, body, format="json"), 422, field)
    assert ledger_counts() == before


def test_viewer_reads_but_may_not_allocate(stock, viewer_client):
    allocation = allocate(stock.bolt_main, 1)
    assert viewer_client.get(URL).status_code == 200
    before = ledger_counts()
    assert_error(reserve(viewer_client, stock, 1), 403)
    assert_error(viewer_client.post(f"{URL}/{allocation.pk}/fulfil"), 403)
    assert_error(viewer_client.post(f"{URL}/{allocation.pk}/release"), 403)
    assert ledger_counts() == before


def test_idempotent_allocation(stock, manager_client):
    first = manager_client.post(URL, {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk, "quantity": 4},
                                format="json", HTTP_IDEMPOTENCY_KEY="order-77")
    second = manager_client.post(URL, {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk, "quantity": 4},
                                 format="json", HTTP_IDEMPOTENCY_KEY="order-77")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert fresh(stock.bolt_main).quantity_allocated == 4


def test_list_costs_a_constant_number_of_queries(stock, manager_client, django_assert_max_num_queries):
    allocate(stock.bolt_main, 1)
    manager_client.get(URL)
    with django_assert_max_num_queries(5) as few:
        manager_client.get(URL)
    for item in (stock.bolt_main, stock.nut_main, stock.bolt_shop):
        for _ in range(4):
            allocate(item, 1)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(manager_client.get(URL).json()["data"]) == 13
