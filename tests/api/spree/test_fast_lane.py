"""Plain movement POSTs answered in front of the viewset (inventory/api/spree/fast_lane.py): the same 201, headers
and rules as the viewset's; everything else handed to it with nothing written and the throttle counted once.
(Every other test of the movement POST goes through the lane too.)"""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection

from accounts.models import Role
from accounts.throttles import ApiKeyRateThrottle
from inventory import services
from inventory.api.spree.urls import routes
from inventory.api.spree.viewsets.stock import StockMovementViewSet
from inventory.models import StockMovement
from tests.factories import StockItemFactory

pytestmark = pytest.mark.django_db

on_postgresql = connection.vendor == "postgresql"


def url(item) -> str:
    return f"/api/v1/stock_locations/{item.stock_location_id}/stock_movements"


def post(client, item, fields: dict, **extra):
    return client.post(url(item), {"stock_movement": fields}, format="json", **extra)


def answered_by_lane(client, item, fields: dict, **extra) -> tuple[object, bool]:
    """The response, and whether the lane answered it (the viewset's create never ran)."""
    with mock.patch.object(StockMovementViewSet, "create", autospec=True,
                           side_effect=StockMovementViewSet.create) as create:
        response = post(client, item, fields, **extra)
    return response, not create.called


def shape(value):
    """A JSON value's keys at every level (and the types of its leaves but null)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__ if value is not None else None


@pytest.mark.skipif(not on_postgresql, reason="the lane answers only what PostgreSQL appends alone (PostgreSQL)")
def test_a_plain_sale_is_answered_by_the_lane_as_the_viewset_answers_it(make_client):
    client = make_client(Role.MANAGER)
    item = StockItemFactory(variant__cost_price="2.5000")
    services.receive(item.pk, 10)
    sale = {"stock_item_id": item.pk, "quantity": -2, "action": "sold"}
    lane, by_lane = answered_by_lane(client, item, sale)
    viewset, by_lane_too = answered_by_lane(client, item, sale, HTTP_IDEMPOTENCY_KEY="through-the-viewset")
    assert (lane.status_code, viewset.status_code, by_lane, by_lane_too) == (201, 201, True, False)
    for header in ("Content-Type", "Allow", "Vary"):
        assert lane[header] == viewset[header], header
    first, second = lane.json(), viewset.json()
    assert shape(first) == shape(second)
    assert (first["quantity"], first["action"], first["stock_item"]["count_on_hand"]) == (-2, "sold", 8)
    assert second["stock_item"]["count_on_hand"] == 6
    assert first["stock_item"]["variant"]["total_on_hand"] == 8
    movement = StockMovement.objects.get(pk=first["id"])
    assert (movement.created_by_id, movement.total_cost, movement.rank) == (client.user.pk, 5, 2)


@pytest.mark.parametrize(("fields", "extra"), [
    ({"quantity": "-1", "action": "sold"}, {}),  # a number as a string: the serializer's to take
    ({"quantity": -1}, {}),  # the action left to its default
    ({"quantity": -1, "action": "sold", "notes": "till 3"}, {}),
    ({"quantity": -50, "action": "sold"}, {}),  # more than the stock: refused by the service
    ({"quantity": 1, "action": "counted"}, {}),
    ({"quantity": -1, "action": "sold"}, {"HTTP_ACCEPT": "text/html"}),
    ({"quantity": -1, "action": "sold"}, {"QUERY_STRING": "format=json"}),
    ({"quantity": -1, "action": "sold"}, {"HTTP_IDEMPOTENCY_KEY": "k1"}),
], ids=["string", "no-action", "notes", "refused", "counted", "html", "query", "idempotency"])
def test_anything_else_is_the_viewsets(make_client, fields, extra):
    client = make_client(Role.MANAGER)
    item = StockItemFactory()
    services.receive(item.pk, 10)
    response, by_lane = answered_by_lane(client, item, {"stock_item_id": item.pk, **fields}, **extra)
    assert not by_lane
    assert response.status_code in (201, 406, 422), response.content


def test_a_viewer_and_a_stranger_get_the_viewsets_refusals(make_client, anon_client):
    item = StockItemFactory()
    sale = {"stock_item_id": item.pk, "quantity": 1, "action": "received"}
    assert post(make_client(Role.VIEWER), item, sale).status_code == 403
    assert post(anon_client, item, sale, HTTP_AUTHORIZATION="Bearer not-a-key-at-all").status_code == 401
    assert not StockMovement.objects.filter(stock_item=item).exists()


@pytest.mark.parametrize("short", [False, True], ids=["appended", "handed-on"])
def test_each_post_is_one_hit_of_the_throttle(make_client, monkeypatch, short):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "3/min"})
    client = make_client(Role.MANAGER)
    item = StockItemFactory(backorderable=True)
    if short:  # a sale of a short item is the service's: the lane hands it on after counting it
        services.sell(item.pk, 5)
    sale = {"stock_item_id": item.pk, "quantity": 1, "action": "received"}
    statuses = [post(client, item, sale).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert set(post(client, item, sale).json()) == {"error", "retry_after"}  # Spree's 429, from the viewset


def test_the_lane_stands_in_front_of_the_movements_routes_and_keeps_what_the_schema_reads():
    wrapped = [r for r in routes if getattr(r.callback, "cls", None) is StockMovementViewSet
               and "post" in r.callback.actions]
    assert wrapped and all(hasattr(r.callback, "__wrapped__") for r in wrapped)
    assert all(r.callback.actions["post"] == "create" and r.callback.initkwargs["basename"] == "stock-movement"
               for r in wrapped)
