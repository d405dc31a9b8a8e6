"""Every failure in Spree's envelopes: 401, 403, 404, 405, 429 - JSON, never an HTML page, never a 500."""

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey, Role
from inventory.api.common import ApiKeyRateThrottle
from tests.api.spree.conftest import API, counts

pytestmark = pytest.mark.django_db

NO_KEY = {"error": "You must specify an API key."}
UNAUTHORIZED = {"error": "You are not authorized to perform that action."}
NOT_FOUND = {"error": "The resource you were looking for could not be found."}


def test_no_key_is_401(anon_client, main):
    response = anon_client.get(f"{API}/stock_locations")
    assert response.status_code == 401
    assert response.json() == NO_KEY
    assert response["WWW-Authenticate"]


@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_X_SPREE_TOKEN"])
def test_bad_key_is_401(main, header):
    client = APIClient()
    value = "Bearer sr_not_a_real_key_at_all" if header == "HTTP_AUTHORIZATION" else "sr_not_a_real_key_at_all"
    client.credentials(**{header: value})
    response = client.get(f"{API}/stock_locations")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_revoked_key_is_401(make_client, main):
    client = make_client(Role.ADMIN)
    ApiKey.objects.filter(pk=client.api_key.pk).update(revoked=True)
    response = client.get(f"{API}/stock_locations")
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_no_key_on_a_write_is_401_and_writes_nothing(anon_client, main, item):
    before = counts()
    response = anon_client.post(f"{API}/stock_locations/{main.pk}/stock_movements",
                                {"stock_movement": {"quantity": 1, "stock_item_id": item.pk}}, format="json")
    assert (response.status_code, response.json()) == (401, NO_KEY)
    assert counts() == before


def test_role_too_low_is_403(viewer_client, main):
    response = viewer_client.post(f"{API}/stock_locations", {"stock_location": {"name": "X"}}, format="json")
    assert (response.status_code, response.json()) == (403, UNAUTHORIZED)


def test_api_key_last_used_is_recorded(admin_client_api, main):
    assert admin_client_api.api_key.last_used is None
    admin_client_api.get(f"{API}/stock_locations")
    admin_client_api.api_key.refresh_from_db()
    assert admin_client_api.api_key.last_used is not None


@pytest.mark.parametrize(
    "path",
    ["/nothing_here", "/stock_locations/abc", "/stock_locations/1/stock_things", "/products/1/variants/2/x",
     f"/stock_locations/{10**30}", f"/variants/{10**30}", "/stock_locations/999999"],
)
def test_unknown_paths_and_ids_are_spree_404s(admin_client_api, path):
    for prefix in (API, "/api"):
        response = admin_client_api.get(prefix + path)
        assert response.status_code == 404, (prefix, path)
        assert response["Content-Type"].startswith("application/json")
        assert response.json() == NOT_FOUND


def test_writes_to_unknown_paths_are_404s_not_csrf_pages(main):
    client = APIClient(enforce_csrf_checks=True)
    for method in ("post", "put", "delete"):
        response = getattr(client, method)(f"{API}/nothing_here", {"a": 1}, format="json")
        assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_html_clients_still_get_json_for_unknown_paths(admin_client_api):
    response = admin_client_api.get(f"{API}/nothing_here", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_the_catch_all_keeps_slash_redirects_for_real_pages(anon_client):
    response = anon_client.get("/api/docs")
    assert response.status_code == 301
    assert response["Location"] == "/api/docs/"


def test_method_not_allowed_is_405_in_the_envelope(admin_client_api, main):
    response = admin_client_api.post(f"{API}/stock_locations/{main.pk}")
    assert response.status_code == 405
    assert set(response.json()) == {"error"}
    assert "POST" in response.json()["error"]


def test_429_with_retry_after_in_the_envelope(manager_client, main, item, monkeypatch):
    # DRF copies DEFAULT_THROTTLE_RATES onto the throttle class when it is imported, so overriding the
    # REST_FRAMEWORK setting would not reach it; patch the class's rates instead.
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "2/min"})
    url = f"{API}/stock_locations/{main.pk}/stock_movements"
    assert manager_client.get(url).status_code == 200
    assert manager_client.get(url).status_code == 200
    before = counts()
    response = manager_client.post(url, {"stock_movement": {"quantity": 1, "stock_item_id": item.pk}}, format="json")
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"error", "retry_after"}
    assert 0 < body["retry_after"] <= 60
    assert response["Retry-After"] == str(body["retry_after"])
    assert counts() == before


def test_throttling_is_per_key(make_client, main, monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "1/min"})
    first, second = make_client(Role.VIEWER), make_client(Role.VIEWER)
    assert first.get(f"{API}/stock_locations").status_code == 200
    assert first.get(f"{API}/stock_locations").status_code == 429
    assert second.get(f"{API}/stock_locations").status_code == 200


def test_session_users_use_the_browsable_api(client, main, django_user_model):
    user = django_user_model.objects.create_user("staffer", password="pw-123456", role=Role.VIEWER)
    client.force_login(user)
    response = client.get(f"{API}/stock_locations", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Main warehouse" in response.content
    assert client.get(f"{API}/stock_locations").json()["total_count"] == 1
