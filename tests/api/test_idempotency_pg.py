"""Retry storms with one Idempotency-Key on PostgreSQL (issue 12.2): while the first request runs, a retry
waits for it and replays its answer, or gets 409 + Retry-After; never another answer (before the fix, retries
that queued on the item lock ran the write again and got 422: the stock was gone)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Role
from inventory.models import Allocation, IdempotencyRecord, StockMovement
from inventory.services.allocations import allocate
from tests.conftest import requires_postgres
from tests.factories import StockItemFactory, StockLocationFactory
from tests.test_concurrency_pg import run_threads

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

STORM = 30
WAREHOUSE = "/api/v1/inventory"


def storm(client: APIClient, url: str, body: dict | None, key: str) -> Counter:
    """STORM copies of one POST with one Idempotency-Key, released at once: how many got each (status, body)."""

    def send(index: int) -> tuple[int, str]:
        own = APIClient()
        own.credentials(**client._credentials)
        response = own.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        return response.status_code, json.dumps(response.json(), sort_keys=True)

    results = run_threads(STORM, send)
    assert sum(results.values()) == STORM
    return results


def assert_one_answer(results: Counter, status: int) -> dict:
    assert {s for s, _ in results} == {status}, sorted(results)
    assert len(results) == 1, "retries got different answers"
    return json.loads(next(iter(results))[1])


@pytest.fixture
def manager(make_client) -> APIClient:
    return make_client(Role.MANAGER)


@pytest.fixture
def location():
    return StockLocationFactory(code="STORM")


def test_spree_sale_of_the_last_units(manager, location):
    item = StockItemFactory(stock_location=location, count_on_hand=3)
    url = f"/api/v1/stock_locations/{location.pk}/stock_movements"
    body = {"stock_movement": {"quantity": -3, "stock_item_id": item.pk, "action": "sold"}}
    assert_one_answer(storm(manager, url, body, "sale-1"), 201)
    assert StockMovement.objects.filter(stock_item=item, action="sold").count() == 1
    assert IdempotencyRecord.objects.filter(key="sale-1").count() == 1


def test_warehouse_movement_out(manager, location):
    item = StockItemFactory(stock_location=location, count_on_hand=4)
    body = {"product_id": item.variant_id, "warehouse_id": location.pk, "movement_type": "out", "quantity": 4}
    assert_one_answer(storm(manager, f"{WAREHOUSE}/movements", body, "out-1"), 201)
    assert StockMovement.objects.filter(stock_item=item, action="sold").count() == 1


def test_allocation_of_everything_available(manager, location):
    item = StockItemFactory(stock_location=location, count_on_hand=5)
    body = {"product_id": item.variant_id, "warehouse_id": location.pk, "quantity": 5}
    assert_one_answer(storm(manager, f"{WAREHOUSE}/allocations", body, "alloc-1"), 201)
    assert Allocation.objects.filter(stock_item=item).count() == 1


def test_fulfil(manager, location):
    item = StockItemFactory(stock_location=location, count_on_hand=5)
    allocation = allocate(item, 2)
    answer = assert_one_answer(storm(manager, f"{WAREHOUSE}/allocations/{allocation.pk}/fulfil", None, "ship-1"),
                               200)
    assert answer["data"]["status"] == "fulfilled"
    assert StockMovement.objects.filter(stock_item=item, action="sold").count() == 1


def test_bulk_adjustments(manager, location):
    item = StockItemFactory(stock_location=location, count_on_hand=5)
    body = {"adjustments": [{"product_id": item.variant_id, "warehouse_id": location.pk, "actual_quantity": 2}]}
    answer = assert_one_answer(storm(manager, f"{WAREHOUSE}/adjustments", body, "count-1"), 201)
    assert StockMovement.objects.filter(stock_item=item, action="counted").count() == 1
    assert json.dumps(answer).count('"adjustment": -3') == 1


def test_a_retry_that_waits_too_long_gets_409_with_retry_after(manager, location):
    """The first request still holds the key (its transaction open in another session) past lock_timeout."""
    item = StockItemFactory(stock_location=location, count_on_hand=5)
    url = f"/api/v1/stock_locations/{location.pk}/stock_movements"
    body = {"stock_movement": {"quantity": 1, "stock_item_id": item.pk, "action": "received"}}
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        other.execute(f"INSERT INTO {IdempotencyRecord._meta.db_table} (user_id, key, route, request_hash,"
                      " response_status, response_body, created_at) VALUES (%s, 'busy', 'r', 'h', 0, NULL, now())",
                      [manager.user.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        response = manager.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="busy")
    finally:
        other.rollback()
        other.close()
        connection.close()  # drops the session's lock_timeout
    assert response.status_code == 409, response.content
    assert response["Retry-After"] == "1"
    assert "Idempotency-Key" in response.json()["error"]
    assert StockMovement.objects.filter(stock_item=item).count() == 1
    # The first request gave up (rolled back): the retry now runs.
    retry = manager.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="busy")
    assert retry.status_code == 201
    item.refresh_from_db()
    assert item.count_on_hand == 6  # exactly the one receipt
