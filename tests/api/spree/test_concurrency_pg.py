"""Concurrent Spree clients on PostgreSQL: no oversell, and one movement per Idempotency-Key."""

import threading

import pytest
from django.db import connection

from accounts.models import Role
from inventory.models import IdempotencyRecord, StockItem, StockMovement
from tests.api.spree.conftest import API
from tests.conftest import requires_postgres
from tests.factories import StockItemFactory, StockLocationFactory

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def run_together(n: int, work) -> list:
    """Run `work(i)` in n threads released at once; each thread closes its own connection."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_sales_never_oversell(make_client):
    location = StockLocationFactory()
    item = StockItemFactory(stock_location=location, count_on_hand=5)
    clients = [make_client(Role.MANAGER) for _ in range(8)]
    url = f"{API}/stock_locations/{location.pk}/stock_movements"

    def sell(i: int) -> int:
        body = {"stock_movement": {"quantity": -1, "stock_item_id": item.pk, "action": "sold"}}
        return clients[i].post(url, body, format="json").status_code

    statuses = run_together(8, sell)
    assert sorted(statuses) == [201] * 5 + [422] * 3
    item.refresh_from_db()
    assert item.count_on_hand == 0
    assert sum(StockMovement.objects.filter(stock_item=item).values_list("quantity", flat=True)) == 0


def test_concurrent_retries_with_one_idempotency_key_write_one_movement(make_client):
    location = StockLocationFactory()
    item = StockItemFactory(stock_location=location, count_on_hand=5)
    client = make_client(Role.MANAGER)
    url = f"{API}/stock_locations/{location.pk}/stock_movements"
    body = {"stock_movement": {"quantity": 3, "stock_item_id": item.pk, "action": "received"}}

    def post(i: int):
        response = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="retry-storm")
        return response.status_code, response.json().get("id")

    results = run_together(6, post)
    assert {status for status, _ in results} == {201}
    assert len({movement_id for _, movement_id in results}) == 1
    assert StockMovement.objects.filter(stock_item=item).count() == 2  # the opening receipt and this one
    assert StockItem.objects.get(pk=item.pk).count_on_hand == 8
    assert IdempotencyRecord.objects.filter(key="retry-storm").count() == 1
