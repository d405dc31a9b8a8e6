"""Quantities and their running sums stay inside the 32-bit columns that hold them (issue 12.7): past the bound
the answer is a clear refusal, never a wrapped total, a check-constraint violation or a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from inventory import services
from inventory.models import Allocation, StockMovement
from inventory.services.allocations import allocate
from inventory.services.errors import AllocationError, InvalidMovement
from inventory.services.rules import MAX_BALANCE, MAX_QUANTITY
from tests.factories import StockItemFactory
from tests.services.invariants import assert_invariants

pytestmark = pytest.mark.django_db


def test_allocations_past_the_bound_are_refused_not_wrapped():
    item = StockItemFactory(backorderable=True)
    allocate(item, MAX_QUANTITY)
    allocate(item, MAX_QUANTITY)
    with pytest.raises(AllocationError, match="allocated"):
        allocate(item, 1)
    item.refresh_from_db()
    assert item.quantity_allocated == MAX_BALANCE
    assert Allocation.objects.filter(stock_item=item).count() == 2


def test_allocation_past_the_bound_is_a_422_in_the_api(make_client):
    item = StockItemFactory(backorderable=True)
    allocate(item, MAX_QUANTITY)
    allocate(item, MAX_QUANTITY)
    response = make_client(Role.MANAGER).post("/api/v1/inventory/allocations", {
        "product_id": item.variant_id, "warehouse_id": item.stock_location_id, "quantity": 5}, format="json")
    assert response.status_code == 422, response.content
    assert "quantity" in response.json()["details"]


def test_a_backdated_movement_may_not_push_an_older_balance_out_of_range():
    """The newest balance stays in range, but one in the middle of the reposted tail would not."""
    item = StockItemFactory()
    now = timezone.now()
    services.receive(item, MAX_QUANTITY, movement_date=now - timedelta(hours=3), value_per_unit="1")
    services.receive(item, MAX_QUANTITY, movement_date=now - timedelta(hours=2), value_per_unit="1")
    services.sell(item, MAX_QUANTITY, movement_date=now - timedelta(hours=1))
    before = StockMovement.objects.count()
    with pytest.raises(InvalidMovement, match="out of range"):
        services.receive(item, MAX_QUANTITY // 2, movement_date=now - timedelta(minutes=150), value_per_unit="1")
    assert StockMovement.objects.count() == before
    assert assert_invariants(item).count_on_hand == MAX_QUANTITY


def test_an_edit_may_not_push_a_balance_out_of_range():
    item = StockItemFactory()
    services.receive(item, MAX_QUANTITY, value_per_unit="1")
    sale = services.sell(item, MAX_QUANTITY // 2)
    services.receive(item, MAX_QUANTITY, value_per_unit="1")
    services.receive(item, MAX_QUANTITY // 2, value_per_unit="1")
    with pytest.raises(InvalidMovement, match="out of range"):
        services.update_movement(sale, quantity=-1)
    assert assert_invariants(item).count_on_hand == MAX_BALANCE


def test_available_of_extreme_totals_is_computed_in_64_bits(make_client):
    """On hand -2e9 and 2e9 allocated: available is -4e9, past a 32-bit integer (PostgreSQL's int4 arithmetic
    raised 'integer out of range', a 500, in the levels, low-stock and analytics reads)."""
    item = StockItemFactory(backorderable=True)
    services.sell(item, MAX_QUANTITY)
    services.sell(item, MAX_QUANTITY)
    allocate(item, MAX_QUANTITY)
    allocate(item, MAX_QUANTITY)
    client = make_client(Role.VIEWER)
    levels = client.get("/api/v1/inventory", {"low_stock": "true"})
    assert levels.status_code == 200, levels.content
    assert levels.json()["data"][0]["quantity_available"] == -2 * MAX_BALANCE
    analytics = client.get("/api/v1/inventory/analytics")
    assert analytics.status_code == 200, analytics.content
