"""Authentication, roles, throttling and the {"error", "details"} envelope across the family."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from inventory.api.common import ApiKeyRateThrottle
from tests.api.warehouse.conftest import BASE, assert_error, ledger_counts

pytestmark = pytest.mark.django_db

READS = [BASE, f"{BASE}/movements", f"{BASE}/allocations", f"{BASE}/analytics"]
WRITES = [f"{BASE}/movements", f"{BASE}/adjustments", f"{BASE}/allocations"]


def movement(stock) -> dict:
    return {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk, "movement_type": "out", "quantity": 1}


@pytest.mark.parametrize("url", READS)
def test_reads_need_a_key(stock, anon_client, url):
    body = assert_error(anon_client.get(url), 401)
    assert body["error"] == "Authentication credentials were not provided."


@pytest.mark.parametrize("url", READS)
def test_a_wrong_key_is_401(stock, url):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-key-at-all")
    response = client.get(url)
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("url", READS)
def test_viewer_reads(stock, viewer_client, url):
    assert viewer_client.get(url).status_code == 200


def test_spree_token_header_works(stock, make_client):
    client = make_client("viewer", header="spree")
    assert client.get(BASE).status_code == 200


@pytest.mark.parametrize("url", WRITES)
def test_anonymous_writes_are_401_and_write_nothing(stock, anon_client, url):
    before = ledger_counts()
    assert_error(anon_client.post(url, movement(stock), format="json"), 401)
    assert ledger_counts() == before


@pytest.mark.parametrize("url", WRITES)
def test_viewer_writes_are_403_and_write_nothing(stock, viewer_client, url):
    before = ledger_counts()
    body = assert_error(viewer_client.post(url, movement(stock), format="json"), 403)
    assert body["error"] == "You are not authorized to perform that action."
    assert ledger_counts() == before


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_manager_and_admin_record(stock, make_client, role):
    response = make_client(role).post(f"{BASE}/movements", movement(stock), format="json")
    assert response.status_code == 201, response.content


def test_unknown_route_under_inventory_is_404_in_the_envelope(stock, viewer_client):
    assert_error(viewer_client.get(f"{BASE}/nothing-here"), 404)
    assert_error(viewer_client.get(f"{BASE}/movements/12/extra"), 404)


def test_wrong_method_is_405_in_the_envelope(stock, manager_client):
    assert_error(manager_client.delete(f"{BASE}/movements"), 405)
    assert_error(manager_client.put(BASE, {}, format="json"), 405)


def test_trailing_slash_is_accepted(stock, viewer_client):
    assert viewer_client.get(f"{BASE}/").status_code == 200
    assert viewer_client.get(f"{BASE}/movements/").status_code == 200


def test_throttled_is_429_with_retry_after(stock, viewer_client, monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "2/min"})
    assert viewer_client.get(BASE).status_code == 200
    assert viewer_client.get(BASE).status_code == 200
    response = viewer_client.get(BASE)
    body = assert_error(response, 429)
    assert int(response["Retry-After"]) > 0 and body["details"]["retry_after"] == int(response["Retry-After"])


def test_throttled_write_writes_nothing(stock, manager_client, monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "1/min"})
    assert manager_client.post(f"{BASE}/movements", movement(stock), format="json").status_code == 201
    before = ledger_counts()
    assert_error(manager_client.post(f"{BASE}/movements", movement(stock), format="json"), 429)
    assert ledger_counts() == before


def test_schema_documents_the_family(stock, viewer_client):
    response = viewer_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path, methods in {
        "/api/v1/inventory": {"get"},
        "/api/v1/inventory/movements": {"get", "post"},
        "/api/v1/inventory/adjustments": {"post"},
        "/api/v1/inventory/allocations": {"get", "post"},
        "/api/v1/inventory/allocations/{id}/release": {"post"},
        "/api/v1/inventory/allocations/{id}/fulfil": {"post"},
        "/api/v1/inventory/analytics": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
    created = paths["/api/v1/inventory/movements"]["post"]["responses"]
    assert {"201", "401", "403", "422", "429"} <= set(created)
    level = schema["components"]["schemas"]["WarehouseInventoryLevel"]["properties"]
    assert {"quantity_on_hand", "quantity_allocated", "quantity_available", "reorder_point", "max_stock_level",
            "last_counted"} <= set(level)
    meta = schema["components"]["schemas"]["WarehousePageMeta"]["properties"]
    assert set(meta) == {"total", "page", "limit", "hasMore"}
    assert not any("nothing" in p or ".*" in p for p in paths)
