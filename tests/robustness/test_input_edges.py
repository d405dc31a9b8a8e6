"""Input edges found by the hardening review (issue 12): NUL characters, deep JSON nesting, far dates,
non-ASCII digits, empty list elements, an Accept header nothing can satisfy. Each is answered in the
family's own envelope with a 4xx, never a 500."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey, Role
from inventory.api.common.parsers import MAX_JSON_DEPTH, json_depth_exceeds
from inventory.models import StockMovement
from tests.factories import StockItemFactory, StockLocationFactory, UserFactory, VariantFactory

SPREE = {"error"}
WAREHOUSE = {"error", "details"}
KATANA = {"statusCode", "name", "message"}


@pytest.fixture
def client(db) -> APIClient:
    _key, raw = ApiKey.issue(UserFactory(role=Role.ADMIN))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api


@pytest.fixture
def item(db):
    location = StockLocationFactory(code="MAIN")
    return StockItemFactory(stock_location=location, variant=VariantFactory(sku="NUL-1"))


def envelope(response, keys: set[str]) -> dict:
    assert response["Content-Type"] == "application/json", response.content
    body = response.json()
    assert keys <= set(body), body
    return body


# --- NUL characters --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "keys"), [
    ("/api/v1/stock_locations/{loc}/stock_movements?q[notes_cont]=a%00b", SPREE),
    ("/api/v1/products?q[name_cont]=a%00b", SPREE),
    ("/api/v1/stock_locations?q[code_eq]=%00", SPREE),
    ("/api/v1/inventory/movements?reference_id=a%00b", WAREHOUSE),
    ("/api/v1/inventory/movements?reference_type=a%00b", WAREHOUSE),
    ("/api/v1/inventory/allocations?reference_id=a%00b", WAREHOUSE),
    ("/api/v1/inventory_movements?resource_type=a%00b", KATANA),
])
def test_a_nul_in_a_query_parameter_is_a_422_naming_it(client, item, path, keys):
    response = client.get(path.format(loc=item.stock_location_id))
    assert response.status_code == 422, response.content
    assert "NUL" in json.dumps(envelope(response, keys))


@pytest.mark.parametrize(("path", "keys"), [
    ("/api/v1/products/a%00b", SPREE),
    ("/api/products/a%00b/variants", SPREE),
    ("/api/v1/movements/product/a%00b", {"error"}),
])
def test_a_nul_in_a_path_parameter_is_refused_without_reaching_the_database(client, item, path, keys):
    response = client.get(path)
    assert response.status_code in (400, 404), response.content
    envelope(response, keys)


def test_a_nul_in_a_json_string_is_a_422_naming_the_field(client, item):
    path = f"/api/v1/stock_locations/{item.stock_location_id}/stock_movements"
    body = {"stock_movement": {"stock_item_id": item.pk, "action": "received", "quantity": 1,
                               "originator_type": "a\u0000b"}}
    response = client.post(path, body, format="json")
    assert response.status_code == 422, response.content
    assert "stock_movement.originator_type" in envelope(response, SPREE)["errors"]
    assert not StockMovement.objects.exists()


def test_a_nul_in_a_json_key_or_a_warehouse_reference_is_refused(client, item):
    response = client.post("/api/v1/inventory/movements",
                           {"product_id": item.variant_id, "warehouse_id": item.stock_location_id, "quantity": 1,
                            "movement_type": "in", "reference_id": "x\u0000"}, format="json")
    assert response.status_code == 422, response.content
    assert "reference_id" in envelope(response, WAREHOUSE)["details"]
    response = client.post("/api/v1/inventory/allocations", {"a\u0000": 1}, format="json")
    assert response.status_code in (400, 422), response.content
    envelope(response, WAREHOUSE)
    assert not StockMovement.objects.exists()


def test_a_nul_in_a_form_field_is_refused(client, item):
    path = f"/api/v1/stock_locations/{item.stock_location_id}/stock_movements"
    response = client.post(path, f"stock_movement[stock_item_id]={item.pk}&stock_movement[action]=received"
                                 f"&stock_movement[quantity]=1&stock_movement[originator_type]=a%00b",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422, response.content
    envelope(response, SPREE)
    assert not StockMovement.objects.exists()


@pytest.mark.parametrize("path", ["/admin/inventory/stockmovement/?resource_type=a%00b",
                                  "/admin/inventory/product/?q=a%00b", "/dashboard/?location=1%00",
                                  "/admin/inventory/product/a%00b/change/"])
def test_a_nul_in_an_address_outside_the_api_is_a_400(client, item, path):
    client.force_login(UserFactory(is_staff=True, is_superuser=True, role=Role.ADMIN))
    response = client.get(path)
    assert response.status_code == 400


# --- deeply nested JSON ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "keys"), [
    ("/api/v1/stock_locations/{loc}/stock_movements", SPREE),
    ("/api/v1/products", SPREE),
    ("/api/v1/inventory/adjustments", WAREHOUSE),
    ("/api/v1/inventory/movements", WAREHOUSE),
    ("/api/v1/inventory/allocations", WAREHOUSE),
])
@pytest.mark.parametrize("depth", [100_000])
def test_deeply_nested_json_is_a_400(client, item, path, keys, depth):
    body = "[" * depth + "]" * depth
    response = client.post(path.format(loc=item.stock_location_id), body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "nested" in envelope(response, keys)["error"]


def test_json_nested_within_the_limit_is_read(client, item):
    path = "/api/v1/inventory/movements"
    nested = {"a": [[[[{"b": [1]}]]]]}  # deeper than any body needs, well within the limit
    response = client.post(path, {"product_id": item.variant_id, "warehouse_id": item.stock_location_id,
                                  "quantity": 1, "movement_type": "in", "extra": nested}, format="json")
    assert response.status_code in (201, 422), response.content
    assert "nested" not in response.json()["error"] if response.status_code != 201 else True


@pytest.mark.parametrize(("raw", "too_deep"), [
    (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, False),  # the limit itself, counted at once
    (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), True),
    (b"[" + b"{}," * 40 + b"{}]", False),  # more brackets than the limit, none deeper than 2: the full scan
    (b'{"a": "' + b"[" * 40 + b'"}', False),  # inside a string
])
def test_json_depth_at_the_limit(raw, too_deep):
    assert json_depth_exceeds(raw) is too_deep


def test_brackets_inside_strings_do_not_count_as_nesting(client, item):
    path = f"/api/v1/stock_locations/{item.stock_location_id}/stock_movements"
    body = {"stock_movement": {"stock_item_id": item.pk, "action": "received", "quantity": 1,
                               "originator_type": "[" * 200 + "\\\"{" * 50}}
    response = client.post(path, body, format="json")
    assert response.status_code == 201, response.content


# --- far dates ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    "end_date=9999-12-31", "start_date=9999-12-31", "start_date=0001-01-01", "end_date=0001-01-01",
    "end_date=9999-12-31T23:59:59-05:00", "start_date=0001-01-01T00:00:00%2B05:00",
])
def test_far_dates_in_warehouse_movement_filters_are_never_a_500(client, item, query):
    response = client.get(f"/api/v1/inventory/movements?{query}")
    assert response.status_code in (200, 422), response.content
    envelope(response, {"data"} if response.status_code == 200 else WAREHOUSE)


@pytest.mark.parametrize("query", [
    "created_at_max=9999-12-31", "created_at_min=0001-01-01", "created_at_max=9999-12-31T23:59:59-05:00",
    "created_at_min=0001-01-01T00:00:00%2B05:00", "updated_at_max=9999-12-31T23:59:59.999999-14:00",
])
def test_far_dates_in_the_feed_are_never_a_500(client, item, query):
    response = client.get(f"/api/v1/inventory_movements?{query}")
    assert response.status_code in (200, 422), response.content


@pytest.mark.parametrize("query", [
    "q[created_at_gt]=9999-12-31T23:59:59-05:00", "q[created_at_lt]=0001-01-01T00:00:00%2B05:00",
    "q[created_at_lteq]=9999-12-31", "q[created_at_gteq]=0001-01-01",
])
def test_far_dates_in_spree_searches_are_never_a_500(client, item, query):
    response = client.get(f"/api/v1/stock_locations/{item.stock_location_id}/stock_movements?{query}")
    assert response.status_code in (200, 422), response.content


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00",
                                    "9999-12-31T23:59:59Z", "0001-01-01"])
def test_far_dates_in_bodies_are_a_422_never_a_500(client, item, moment):
    path = f"/api/v1/stock_locations/{item.stock_location_id}/stock_movements"
    response = client.post(path, {"stock_movement": {"stock_item_id": item.pk, "action": "received", "quantity": 1,
                                                     "movement_date": moment}}, format="json")
    assert response.status_code == 422, response.content
    assert "movement_date" in envelope(response, SPREE)["errors"]
    response = client.post("/api/v1/inventory/movements", {
        "product_id": item.variant_id, "warehouse_id": item.stock_location_id, "quantity": 1,
        "movement_type": "in", "movement_date": moment}, format="json")
    assert response.status_code == 422, response.content
    assert "movement_date" in envelope(response, WAREHOUSE)["details"]
    assert not StockMovement.objects.exists()


# --- digits and lists ------------------------------------------------------------------------------------

@pytest.mark.parametrize("quantity", ["５", "٥", "\u0665", "1\u0660"])
def test_non_ascii_digits_are_not_a_quantity(client, item, quantity):
    path = f"/api/v1/stock_locations/{item.stock_location_id}/stock_movements"
    body = {"stock_movement": {"stock_item_id": item.pk, "action": "received", "quantity": quantity}}
    response = client.post(path, body, format="json")
    assert response.status_code == 422, response.content
    assert "quantity" in envelope(response, SPREE)["errors"]
    response = client.post("/api/v1/inventory/movements", {
        "product_id": item.variant_id, "warehouse_id": item.stock_location_id, "quantity": quantity,
        "movement_type": "in"}, format="json")
    assert response.status_code == 422, response.content
    assert "quantity" in envelope(response, WAREHOUSE)["details"]
    assert not StockMovement.objects.exists()


def wide(number: int) -> str:
    """The number in full-width digits, which int() reads as the number itself."""
    return "".join(chr(ord(digit) - ord("0") + ord("０")) for digit in str(number))


@pytest.mark.parametrize(("path", "keys"), [
    ("/api/v1/inventory/movements?product_id={wide_variant}", WAREHOUSE),
    ("/api/v1/inventory?warehouse_id={wide_location}", WAREHOUSE),
    ("/api/v1/inventory_movements?variant_ids=１", KATANA),
    ("/api/v1/inventory_movements?limit=５", KATANA),
    ("/api/v1/products?page=２", SPREE),
    ("/api/v1/products?per_page=２", SPREE),
    ("/api/v1/movements/product/{variant}?location_id=１", {"error"}),
])
def test_non_ascii_digits_are_not_an_id_or_a_number_in_a_query(client, item, path, keys):
    response = client.get(path.format(variant=item.variant_id, wide_variant=wide(item.variant_id),
                                      wide_location=wide(item.stock_location_id)))
    assert response.status_code == 422, response.content
    envelope(response, keys)


@pytest.mark.parametrize("query", ["q[id_in]=1,,2", "q[id_in]=1,", "q[id_in][]=1&q[id_in][]="])
def test_an_empty_list_element_is_refused(client, item, query):
    response = client.get(f"/api/v1/products?{query}")
    assert response.status_code == 422, response.content
    envelope(response, SPREE)


def test_non_ascii_digits_in_a_spree_id_body_field_are_refused(client, item):
    response = client.post(f"/api/v1/stock_locations/{item.stock_location_id}/stock_items",
                           {"stock_item": {"variant_id": wide(VariantFactory().pk), "count_on_hand": 1}},
                           format="json")
    assert response.status_code == 422, response.content
    assert "variant_id" in envelope(response, SPREE)["errors"]


# --- content negotiation -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "keys"), [
    ("/api/v1/products", SPREE),
    ("/api/v1/inventory", WAREHOUSE),
    ("/api/v1/inventory_movements", KATANA),
    ("/api/v1/movements/product/1", {"error"}),
])
def test_an_accept_header_nothing_satisfies_is_a_406_in_the_envelope(client, item, path, keys):
    response = client.get(path, HTTP_ACCEPT="application/xml")
    assert response.status_code == 406, response.content
    body = envelope(response, keys)
    if "statusCode" in body:
        assert body["statusCode"] == 406 and body["name"] == "NotAcceptableError"
