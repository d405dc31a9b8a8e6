"""A correction longer than a request may repost (STOCKROOM_MAX_REPOST) is refused with a 422 naming the
operator's way to run it; `manage.py correct` runs it with no limit."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from inventory import services
from inventory.models import StockMovement
from tests.factories import StockItemFactory
from tests.services.invariants import assert_invariants

pytestmark = pytest.mark.django_db


@pytest.fixture
def item():
    item = StockItemFactory()
    now = timezone.now()
    for n in range(6):
        services.receive(item, 3, value_per_unit="2.00", movement_date=now - timedelta(hours=6 - n))
    return item


def spree_post(client, item, days_ago: int):
    return client.post(f"/api/v1/stock_locations/{item.stock_location_id}/stock_movements", {"stock_movement": {
        "stock_item_id": item.pk, "quantity": -1, "action": "sold",
        "movement_date": (timezone.now() - timedelta(days=days_ago)).isoformat()}}, format="json")


@override_settings(STOCKROOM_MAX_REPOST=4)
def test_the_spree_api_refuses_a_correction_past_the_limit_and_writes_nothing(manager_client, item):
    before = StockMovement.objects.count()
    response = spree_post(manager_client, item, days_ago=1)
    assert response.status_code == 422
    [message] = response.json()["errors"]["movement_date"]
    assert "more than 4 movements" in message and "manage.py correct" in message
    assert StockMovement.objects.count() == before
    assert_invariants(item)


@override_settings(STOCKROOM_MAX_REPOST=4)
def test_a_deletion_past_the_limit_is_refused_too(admin_client_api, item):
    movement = StockMovement.objects.filter(stock_item=item).order_by("movement_date").first()
    response = admin_client_api.delete(f"/api/v1/stock_locations/{item.stock_location_id}/stock_movements/"
                                       f"{movement.pk}")
    assert response.status_code == 422
    assert "manage.py correct" in str(response.json())
    assert StockMovement.objects.filter(pk=movement.pk).exists()
    assert_invariants(item)


@override_settings(STOCKROOM_MAX_REPOST=4)
def test_the_warehouse_api_refuses_it_in_its_own_envelope(manager_client, item):
    response = manager_client.post("/api/v1/inventory/movements", {
        "product_id": item.variant_id, "warehouse_id": item.stock_location_id, "movement_type": "adjustment",
        "quantity": 1, "movement_date": (timezone.now() - timedelta(days=1)).isoformat()}, format="json")
    assert response.status_code == 422
    body = response.json()
    assert "manage.py correct" in body["error"] and "movement_date" in body["details"]


def correct(*args: str) -> str:
    out = StringIO()
    call_command("correct", *args, stdout=out)
    return out.getvalue()


@override_settings(STOCKROOM_MAX_REPOST=4)
def test_manage_py_correct_runs_any_correction(settings, item):
    settings.MANAGEMENT_COMMAND = True  # as under manage.py: no request, no limit
    sku, code = item.variant.sku, item.stock_location.code
    out = correct("backdate", "--sku", sku, "--location", code, "--action", "adjusted", "--quantity", "2",
                  "--date", (timezone.now() - timedelta(days=2)).isoformat())
    movement = StockMovement.objects.order_by("-pk").first()
    assert f"Recorded movement {movement.pk} at rank 1" in out
    assert "rank 2" in correct("edit", str(movement.pk), "--date", (timezone.now() - timedelta(hours=5, minutes=30))
                               .isoformat())
    correct("delete", str(movement.pk))
    assert not StockMovement.objects.filter(pk=movement.pk).exists()
    assert_invariants(item)


@pytest.mark.parametrize("args, message", [
    (("backdate", "--sku", "NOPE", "--location", "X", "--action", "adjusted", "--quantity", "1", "--date",
      "2025-01-01T00:00Z"), "no stock location with code 'X'"),
    (("edit", "999999", "--quantity", "2"), "no movement 999999"),
    (("backdate", "--sku", "S", "--location", "X", "--action", "adjusted", "--quantity", "1", "--date", "monday"),
     "not an ISO 8601 date"),
])
def test_manage_py_correct_says_what_is_wrong(args, message):
    with pytest.raises(CommandError, match=message):
        correct(*args)
