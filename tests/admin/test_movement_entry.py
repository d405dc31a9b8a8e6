"""Movements are entered as what happened plus a positive number of units (issue 15 item 1)."""

from __future__ import annotations

import pytest

from accounts.models import Role
from inventory import services
from inventory.models import StockItem, StockMovement, StockTransfer
from tests.admin.test_writes import CAUSE, assert_consistent, post_add
from tests.factories import StockItemFactory, StockLocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def item():
    item = StockItemFactory()
    services.receive(item, 10, value_per_unit="2")
    return item


@pytest.mark.parametrize(("entry", "action", "quantity"), [
    ("receive", "received", 3), ("sell", "sold", -3), ("return", "returned", 3), ("adjust_up", "adjusted", 3),
    ("adjust_down", "adjusted", -3),
])
def test_each_action_with_positive_units_records_the_signed_movement(staff_client, item, entry, action, quantity):
    client = staff_client(Role.MANAGER)
    response = post_add(client, StockMovement, {"stock_item": item.pk, "action": entry, "quantity": "3", **CAUSE})
    assert response.status_code == 302, response.context["adminform"].form.errors
    movement = item.movements.order_by("-id").first()
    assert (movement.action, movement.quantity, movement.created_by) == (action, quantity, client.user)
    assert_consistent(item)


def test_a_transfer_moves_units_to_the_destination_through_the_transfer_service(staff_client, item):
    destination = StockLocationFactory(code="SHOP9")
    response = post_add(staff_client(Role.MANAGER), StockMovement, {
        "stock_item": item.pk, "action": "transfer", "quantity": "4", "destination": destination.pk,
        "notes": "to the shop", **CAUSE})
    assert response.status_code == 302, response.context["adminform"].form.errors
    transfer = StockTransfer.objects.get()
    assert (transfer.source_location_id, transfer.destination_location_id) == (item.stock_location_id, destination.pk)
    arrived = StockItem.objects.get(stock_location=destination, variant=item.variant)
    assert arrived.count_on_hand == 4
    assert_consistent(item)
    assert item.count_on_hand == 6


@pytest.mark.parametrize(("data", "field"), [
    ({"action": "transfer", "quantity": "1"}, "destination"),
    ({"action": "sell", "quantity": "1", "destination": "__same__"}, "destination"),
    ({"action": "transfer", "quantity": "1", "destination": "__same__"}, "destination"),
    ({"action": "sell", "quantity": "11"}, "quantity"),
    ({"action": "transfer", "quantity": "11", "destination": "__other__"}, "quantity"),
    ({"action": "sell", "quantity": "0"}, "quantity"),
    ({"action": "sold", "quantity": "1"}, "action"),
])
def test_refusals_are_form_errors_and_write_nothing(staff_client, item, data, field):
    other = StockLocationFactory()
    replace = {"__same__": item.stock_location_id, "__other__": other.pk}
    data = {key: replace.get(value, value) for key, value in data.items()}
    response = post_add(staff_client(Role.MANAGER), StockMovement, {"stock_item": item.pk, **data, **CAUSE})
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert item.movements.count() == 1 and not StockTransfer.objects.exists()


def test_the_add_page_offers_actions_not_signs(staff_client, item):
    page = staff_client(Role.MANAGER).get("/admin/inventory/stockmovement/add/").content.decode()
    for choice in ("receive", "sell", "return", "adjust_up", "adjust_down", "transfer"):
        assert f'value="{choice}"' in page
    assert 'min="1"' in page
