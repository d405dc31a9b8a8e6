"""The plain query-parameter filters are django-filter FilterSets read strictly (issue 13): every filter is
documented in /api/schema/, and nothing a client sends is silently ignored."""

import pytest

from inventory.api.ledger.filters import FeedFilter, HistoryFilter
from inventory.api.warehouse.filters import AllocationFilter, AnalyticsFilter, LevelFilter, MovementFilter

pytestmark = pytest.mark.django_db

OPERATIONS = [
    ("/api/v1/inventory_movements", FeedFilter),
    ("/api/v1/movements/product/{variant_id}", HistoryFilter),
    ("/api/v1/inventory", LevelFilter),
    ("/api/v1/inventory/movements", MovementFilter),
    ("/api/v1/inventory/allocations", AllocationFilter),
    ("/api/v1/inventory/analytics", AnalyticsFilter),
]


@pytest.mark.parametrize(("path", "filterset"), OPERATIONS)
def test_every_filter_is_in_the_schema(viewer_client, path, filterset):
    schema = viewer_client.get("/api/schema/", {"format": "json"}).json()
    documented = {p["name"] for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}
    assert set(filterset.base_filters) <= documented


@pytest.mark.parametrize("path", ["/api/v1/inventory", "/api/v1/inventory/movements",
                                  "/api/v1/inventory/allocations", "/api/v1/inventory/analytics"])
def test_warehouse_unknown_parameter_is_422(viewer_client, path):
    response = viewer_client.get(path, {"warehous_id": 1})
    assert response.status_code == 422, response.content
    assert response.json()["details"] == {"warehous_id": ["is not a known query parameter."]}


@pytest.mark.parametrize("query", ["ids=1,,2", "variant_ids=3,", "ids[]=&ids[]=4"])
def test_feed_empty_list_element_is_422(viewer_client, query):
    response = viewer_client.get(f"/api/v1/inventory_movements?{query}")
    assert response.status_code == 422, response.content
    assert response.json()["name"] == "UnprocessableEntityError"
