"""Who may read the ledger family, its two error envelopes (auth, throttling, crashes) and its schema."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Role
from inventory.api.common import ApiKeyRateThrottle
from inventory.models import StockMovement
from tests.api.ledger.conftest import FEED, history_url
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db


def katana(status: int, name: str, message: str) -> dict:
    return {"statusCode": status, "name": name, "message": message}


@pytest.fixture
def roleless_client(db) -> APIClient:
    """A valid key whose user has no role at all: authenticated, but may read nothing."""
    user = UserFactory(role="")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiKeyFactory(user=user).raw}")
    return client


@pytest.fixture
def routes(ledger):
    return {"feed": FEED, "history": history_url(ledger.bolt.pk)}


# --- who may read --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MANAGER, Role.ADMIN])
@pytest.mark.parametrize("route", ["feed", "history"])
def test_viewer_and_up_may_read(make_client, routes, role, route):
    assert make_client(role).get(routes[route]).status_code == 200


@pytest.mark.parametrize("header", ["bearer", "spree"])
def test_both_key_headers_work(make_client, routes, header):
    assert make_client(Role.VIEWER, header=header).get(routes["feed"]).status_code == 200


def test_feed_401_without_key(anon_client, routes):
    response = anon_client.get(routes["feed"])
    assert response.status_code == 401
    assert response.json() == katana(401, "UnauthorizedError", "Unauthorized")
    assert response["WWW-Authenticate"]


def test_feed_401_with_unknown_key(anon_client, routes):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer sr_not_a_real_key_at_all")
    response = anon_client.get(routes["feed"])
    assert response.status_code == 401
    assert response.json() == katana(401, "UnauthorizedError", "Unauthorized")


def test_feed_401_comes_before_query_validation(anon_client, routes):
    assert anon_client.get(routes["feed"], {"limit": -1}).status_code == 401


def test_feed_403(roleless_client, routes):
    response = roleless_client.get(routes["feed"])
    assert response.status_code == 403
    assert response.json() == katana(403, "ForbiddenError", "Forbidden")


def test_feed_405_for_writes(make_client, routes):
    before = StockMovement.objects.count()
    response = make_client(Role.ADMIN).post(routes["feed"], {"quantity": 1}, format="json")
    assert response.status_code == 405
    assert response.json()["name"] == "MethodNotAllowedError"
    assert StockMovement.objects.count() == before


def test_too_many_parameters_is_400_not_500(viewer_client, routes):
    crowded = "&".join(f"ids={n}" for n in range(1, settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 100))
    response = viewer_client.get(f"{routes['feed']}?{crowded}")
    assert response.status_code == 400
    assert response.json()["name"] == "BadRequestError"
    response = viewer_client.get(f"{routes['history']}?{crowded}")
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_history_401_without_and_with_a_bad_key(anon_client, routes):
    assert anon_client.get(routes["history"]).json() == {"error": "Unauthorized"}
    anon_client.credentials(HTTP_X_SPREE_TOKEN="nope-nope-nope")
    response = anon_client.get(routes["history"])
    assert (response.status_code, response.json()) == (401, {"error": "Unauthorized"})


def test_history_401_even_for_an_unknown_product(anon_client):
    assert anon_client.get(history_url(424242)).status_code == 401


def test_history_403(roleless_client, routes):
    response = roleless_client.get(routes["history"])
    assert (response.status_code, response.json()) == (403, {"error": "Forbidden"})


# --- throttling ----------------------------------------------------------------------------------


@pytest.fixture
def two_per_minute(monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "2/min"})


def test_feed_429_with_retry_after(viewer_client, routes, two_per_minute):
    for _ in range(2):
        assert viewer_client.get(routes["feed"]).status_code == 200
    response = viewer_client.get(routes["feed"])
    assert response.status_code == 429
    assert response.json() == katana(429, "TooManyRequests", "Too Many Requests")
    assert int(response["Retry-After"]) > 0


def test_history_429_with_retry_after(viewer_client, routes, two_per_minute):
    for _ in range(2):
        viewer_client.get(routes["history"])
    response = viewer_client.get(routes["history"])
    assert response.status_code == 429
    body = response.json()
    assert body["error"] == "Too many requests"
    assert body["details"]["retry_after"] == int(response["Retry-After"]) > 0


def test_throttling_is_per_key(make_client, routes, two_per_minute):
    first, second = make_client(Role.VIEWER), make_client(Role.VIEWER)
    for _ in range(3):
        first.get(routes["feed"])
    assert first.get(routes["feed"]).status_code == 429
    assert second.get(routes["feed"]).status_code == 200


# --- crashes are answered in JSON ----------------------------------------------------------------


def explode(*args, **kwargs):
    raise RuntimeError("database on fire")


def test_feed_500_is_the_katana_envelope(viewer_client, routes, monkeypatch):
    monkeypatch.setattr("inventory.selectors.feed.feed_rows", explode)
    response = viewer_client.get(routes["feed"])
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == katana(500, "InternalServerError", "Internal Server Error")


def test_history_500_is_the_json_envelope(viewer_client, routes, monkeypatch):
    monkeypatch.setattr("inventory.selectors.feed.history_batches", explode)
    response = viewer_client.get(routes["history"])
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"error": "Internal server error"}


# --- OpenAPI -------------------------------------------------------------------------------------


@pytest.fixture
def schema(admin_client_api) -> dict:
    response = admin_client_api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_describes_the_feed(schema):
    operation = schema["paths"]["/api/v1/inventory_movements"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) == {"ids", "variant_ids", "location_id", "resource_type", "resource_id",
                           "caused_by_order_no", "caused_by_resource_id", "created_at_min", "created_at_max",
                           "updated_at_min", "updated_at_max", "limit", "page"}
    assert params["ids"]["schema"]["type"] == "array"
    assert params["limit"]["schema"]["default"] == 50
    assert set(operation["responses"]) == {"200", "400", "401", "403", "422", "429", "500", "503"}
    row = schema["components"]["schemas"]["FeedMovement"]["properties"]
    assert row["value_in_stock_after"]["type"] == "number"
    assert "quantity_change" in row
    error = schema["components"]["schemas"]["KatanaError"]["properties"]
    assert {"statusCode", "name", "message"} <= set(error)


def test_schema_describes_the_product_history(schema):
    operation = schema["paths"]["/api/v1/movements/product/{variant_id}"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["variant_id"]["in"] == "path"
    assert params["variant_id"]["schema"]["type"] == "integer"
    assert {"location_id", "limit", "page"} <= set(params)
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["type"] == "array"
    assert "404" in operation["responses"]
    entry = schema["components"]["schemas"]["HistoryEntry"]["properties"]
    assert {"id", "product_id", "type", "quantity", "unit_price", "total_price", "total_cost", "reference_id",
            "notes", "created_at", "created_by"} == set(entry)


def test_schema_lists_each_route_once(schema):
    ledger_paths = [p for p in schema["paths"] if "inventory_movements" in p or "movements/product" in p]
    assert sorted(ledger_paths) == ["/api/v1/inventory_movements", "/api/v1/movements/product/{variant_id}"]
