"""Spree compatibility found by Spree's own controller specs (issue 13, contract section 3): the un-nested
stock item routes, discarding a stock item with a ledger, and stock location addresses."""

from __future__ import annotations

import pytest

from inventory import services
from inventory.models import Country, State, StockItem, StockMovement
from tests.api.spree.conftest import API, assert_spree_422
from tests.factories import StockItemFactory, VariantFactory

pytestmark = pytest.mark.django_db


def test_stock_items_without_a_location_is_spree_422(viewer_client, main, item):
    response = viewer_client.get(f"{API}/stock_items")
    assert response.status_code == 422
    assert response.json()["error"] == "stock_location_id parameter must be provided"
    body = viewer_client.get(f"{API}/stock_items", {"stock_location_id": main.pk}).json()
    assert [row["id"] for row in body["stock_items"]] == [item.pk]
    assert viewer_client.get(f"{API}/stock_items", {"stock_location_id": 999999}).status_code == 404


def test_unnested_put_and_delete(admin_client_api, manager_client, main, item):
    response = manager_client.put(f"{API}/stock_items/{item.pk}", {"stock_item": {"count_on_hand": 3}},
                                  format="json")
    assert response.status_code == 200, response.content
    assert response.json()["count_on_hand"] == 23
    assert manager_client.get(f"{API}/stock_items/{item.pk}").status_code == 405  # Spree serves no show here
    empty = StockItemFactory(stock_location=main)
    assert admin_client_api.delete(f"/api/stock_items/{empty.pk}/").status_code == 204
    assert not StockItem.objects.filter(pk=empty.pk).exists()
    assert_spree_422(admin_client_api.put(f"{API}/stock_items/{item.pk}", {"count_on_hand": 1}, format="json"),
                     "stock_item")


def test_a_discarded_item_leaves_the_totals_and_comes_back_with_new_stock(admin_client_api, manager_client, main,
                                                                         item, variant):
    assert admin_client_api.delete(f"{API}/stock_items/{item.pk}").status_code == 204
    assert admin_client_api.get(f"{API}/variants/{variant.pk}").json()["total_on_hand"] == 0
    levels = manager_client.get("/api/v1/inventory", {"warehouse_id": main.pk}).json()["data"]
    assert item.pk not in [row["id"] for row in levels]
    # Stock recorded again for the variant at that location brings the same item back, ledger and all.
    response = manager_client.post(f"{API}/stock_locations/{main.pk}/stock_movements",
                                   {"stock_movement": {"stock_item_id": item.pk, "quantity": 2, "action": "received"}},
                                   format="json")
    assert response.status_code == 201, response.content
    assert StockItem.objects.get(pk=item.pk).deleted_at is None
    assert admin_client_api.get(f"{API}/stock_locations/{main.pk}/stock_items/{item.pk}").status_code == 200


def test_creating_the_item_of_a_discarded_one_restores_it(admin_client_api, main):
    variant = VariantFactory()
    item = StockItemFactory(stock_location=main, variant=variant, count_on_hand=4)
    services.sell(item, 4)
    assert admin_client_api.delete(f"{API}/stock_locations/{main.pk}/stock_items/{item.pk}").status_code == 204
    response = admin_client_api.post(f"{API}/stock_locations/{main.pk}/stock_items",
                                     {"stock_item": {"variant_id": variant.pk, "count_on_hand": 5}}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["id"] == item.pk and response.json()["count_on_hand"] == 5
    assert StockMovement.objects.filter(stock_item=item).count() == 3


def test_location_address_with_nested_country_and_state(admin_client_api, viewer_client):
    country = Country.objects.create(iso="US", iso3="USA", iso_name="UNITED STATES", name="United States",
                                     numcode=840, states_required=True)
    state = State.objects.create(country=country, name="New York", abbr="NY")
    response = admin_client_api.post(f"{API}/stock_locations", {"stock_location": {
        "name": "Brooklyn", "address1": "1 Main St", "city": "Brooklyn", "zipcode": "11201", "phone": "555-0100",
        "country_id": country.pk, "state_id": state.pk}}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["address1"], created["city"], created["country_id"], created["state_id"]) == (
        "1 Main St", "Brooklyn", country.pk, state.pk)
    assert created["address2"] is None and created["state_name"] is None
    row = viewer_client.get(f"{API}/stock_locations").json()["stock_locations"][0]
    assert row["country"] == {"id": country.pk, "iso_name": "UNITED STATES", "iso": "US", "iso3": "USA",
                              "name": "United States", "numcode": 840, "states_required": True}
    assert row["state"] == {"id": state.pk, "name": "New York", "abbr": "NY", "country_id": country.pk}
    assert_spree_422(admin_client_api.put(f"{API}/stock_locations/{created['id']}",
                                          {"stock_location": {"country_id": 999999}}, format="json"), "country_id")
