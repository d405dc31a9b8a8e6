"""OpenAPI schema and Swagger UI: generated without warnings for the Spree views, served without a CDN."""

import re

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from tests.factories import UserFactory

SPREE_MARKERS = ("inventory/api/spree", "Spree", "/products", "/variants", "/stock_locations")


@pytest.fixture
def schema():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        generated = SchemaGenerator().get_schema(request=None, public=True)
    messages = list(GENERATOR_STATS._warn_cache) + list(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    return generated, messages


def test_schema_generates_without_warnings_for_spree_views(schema):
    generated, messages = schema
    ours = [m for m in messages if any(marker in m for marker in SPREE_MARKERS)]
    assert ours == []
    validate_schema(generated)


def test_every_contract_route_is_described_once(schema):
    paths = schema[0]["paths"]
    prefix = "/api/v1"
    assert set(paths[f"{prefix}/products"]) == {"get", "post"}
    assert set(paths[f"{prefix}/products/{{product_id}}"]) == {"get", "put", "patch", "delete"}
    assert set(paths[f"{prefix}/products/{{product_id}}/variants"]) == {"get", "post"}
    assert set(paths[f"{prefix}/variants/{{variant_id}}"]) == {"get", "put", "patch", "delete"}
    assert set(paths[f"{prefix}/stock_locations"]) == {"get", "post"}
    assert set(paths[f"{prefix}/stock_locations/{{location_id}}"]) == {"get", "put", "patch", "delete"}
    items = f"{prefix}/stock_locations/{{location_id}}/stock_items"
    assert set(paths[items]) == {"get", "post"}
    assert set(paths[items + "/{item_id}"]) == {"get", "put", "patch", "delete"}
    movements = f"{prefix}/stock_locations/{{location_id}}/stock_movements"
    assert set(paths[movements]) == {"get", "post"}
    assert set(paths[movements + "/{movement_id}"]) == {"get", "put", "patch", "delete"}
    assert set(paths[f"{prefix}/stock_locations/{{location_id}}/stock_movement/{{movement_id}}"]) == {"delete"}
    assert not any(p.endswith("/") and "stock_" in p for p in paths)  # the slash spellings stay out
    # The /api/ mount serves the same views (tests/robustness/test_schemathesis.py checks that): not listed twice.
    assert [p for p in paths if not p.startswith("/api/v1/")] == []
    operation_ids = [op["operationId"] for ops in paths.values() for op in ops.values() if "operationId" in op]
    assert len(operation_ids) == len(set(operation_ids))


def test_every_operation_documents_the_answers_any_request_may_get(schema):
    """400 (a request that can't be parsed, e.g. too many query parameters), 429 and 503 with Retry-After."""
    operations = [(path, op) for path, ops in schema[0]["paths"].items() for op in ops.values() if "responses" in op]
    assert operations
    for path, operation in operations:
        responses = operation["responses"]
        assert {"400", "429", "503"} <= set(responses), (path, operation["operationId"])
        for code in ("429", "503"):
            assert responses[code]["headers"]["Retry-After"]["required"] is True, (path, code)


def test_bodies_and_envelopes_are_described_truthfully(schema):
    generated = schema[0]
    components = generated["components"]["schemas"]
    post = generated["paths"]["/api/v1/stock_locations/{location_id}/stock_movements"]["post"]
    body_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    body = components[body_ref]
    assert list(body["properties"]) == ["stock_movement"] and body["required"] == ["stock_movement"]
    inner = components[body["properties"]["stock_movement"]["$ref"].rsplit("/", 1)[1]]
    assert {"quantity", "stock_item_id", "action"} <= set(inner["properties"])
    assert {"201", "400", "401", "403", "404", "422", "429"} <= set(post["responses"])
    index = generated["paths"]["/api/v1/stock_locations/{location_id}/stock_movements"]["get"]
    envelope = components[index["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/")[-1]]
    assert set(envelope["properties"]) == {"stock_movements", "count", "total_count", "current_page", "pages",
                                           "per_page"}
    movement = components["SpreeStockMovement"]
    assert set(movement["properties"]) == {"id", "quantity", "action", "stock_item_id", "stock_item"}
    variant = components["SpreeVariant"]["properties"]
    assert variant["price"]["type"] == "string"
    assert {p["name"] for p in index["parameters"]} >= {"page", "per_page", "q", "location_id"}
    assert components["SpreeInvalid"]["properties"]["errors"]["type"] == "object"
    assert set(generated["components"]["securitySchemes"]) >= {"bearerAuth", "spreeToken"}


@pytest.mark.django_db
def test_schema_endpoint_serves_openapi(viewer_client):
    response = viewer_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.django_db
def test_docs_page_uses_packaged_static_files_and_no_cdn(client):
    client.force_login(UserFactory(is_staff=True))
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert urls and all(not u.startswith(("http:", "https:", "//")) for u in urls), urls
    for cdn in ("cdn.", "jsdelivr", "unpkg", "cdnjs"):
        assert cdn not in html
    bundle = next(u for u in urls if u.endswith(".js"))
    assert client.get(bundle).status_code == 200
