"""Issue 12.11 in-process: a 400 Django raises before any API view (a Host not in ALLOWED_HOSTS) is JSON in
the family's envelope under /api/ (it was Django's HTML page), and stays Django's page elsewhere."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path

from config import urls as config_urls
from config.edge import edge_body, family_of
from tests.serve.test_serve import FAMILY_PATHS, envelope_of


@pytest.mark.parametrize("family", FAMILY_PATHS)
def test_a_disallowed_host_under_api_is_the_family_json(family):
    response = Client(HTTP_HOST="evil.example").get(FAMILY_PATHS[family])
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    envelope_of(family, response.json(), 400)
    assert "Host" in str(response.json())


def test_a_disallowed_host_elsewhere_is_djangos_page():
    response = Client(HTTP_HOST="evil.example").get("/admin/")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(("path", "family"), [
    ("/api/v1/inventory_movements", "katana"), ("/api/v1/inventory_movements/", "katana"),
    ("/api/v1/inventory_movementsX", "spree"), ("/api/v1/movements/product/3", "history"),
    ("/api/v1/inventory?warehouse_id=1", "warehouse"), ("/api/v1/inventory/movements", "warehouse"),
    ("/api/v1/inventoryX", "spree"), ("/api/products", "spree"), ("/admin/", None), ("/apix", None),
])
def test_paths_map_to_their_family(path, family):
    assert family_of(path) == family


def test_edge_bodies_use_the_families_envelopes():
    assert edge_body("katana", 414) == {"statusCode": 414, "name": "URITooLongError",
                                        "message": "The request URI is too long."}
    assert edge_body("warehouse", 413) == {"error": "The request body is too large.", "details": {}}
    assert edge_body("spree", 431) == {"error": "The request headers are too large."}
    assert edge_body("history", 502)["error"].startswith("The application server is unavailable")


def boom(request):
    raise RuntimeError("a crash outside the API views' own handlers")


# A URLconf with crashing views and the project's own error handlers (the ones config/urls.py declares).
urlpatterns = [path("api/v1/inventory_movements/boom", boom), path("api/v1/boom", boom), path("boom", boom)]
handler500 = config_urls.handler500


@pytest.mark.urls("tests.serve.test_edge")
@pytest.mark.parametrize(("path", "family"), [("/api/v1/inventory_movements/boom", "katana"),
                                              ("/api/v1/boom", "spree")])
def test_a_crash_outside_the_api_handlers_is_the_family_json(path, family):
    response = Client(raise_request_exception=False).get(path)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    envelope_of(family, response.json(), 500)


@pytest.mark.urls("tests.serve.test_edge")
def test_a_crash_elsewhere_is_djangos_page():
    response = Client(raise_request_exception=False).get("/boom")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
