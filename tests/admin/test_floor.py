"""The admin as the floor staff see it (issue 15 item 1): branded, their models only, lists that fit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiKey, Role
from inventory import services
from inventory.models import (
    Allocation,
    CostLayer,
    Country,
    IdempotencyRecord,
    LayerConsumption,
    MovementAudit,
    MovementFigures,
    Product,
    State,
    StockItem,
    StockLocation,
    StockMovement,
    StockTransfer,
    Variant,
)
from tests.admin.helpers import admin_url
from tests.factories import StockItemFactory

pytestmark = pytest.mark.django_db

FLOOR = [Product, Variant, StockLocation, StockItem, StockMovement, Allocation, StockTransfer, ApiKey]
INTERNALS = [CostLayer, LayerConsumption, MovementFigures, IdempotencyRecord, MovementAudit]


def listed_models(response) -> set[str]:
    return {model["object_name"] for app in response.context["app_list"] for model in app["models"]}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MANAGER, Role.ADMIN])
def test_staff_see_the_floor_models_and_not_the_internals(staff_client, ledger, role):
    client = staff_client(role)
    response = client.get("/admin/")
    listed = listed_models(response)
    assert {m.__name__ for m in FLOOR} <= listed
    assert not {m.__name__ for m in INTERNALS} & listed
    for model in INTERNALS:
        assert client.get(admin_url(model, "changelist")).status_code == 403
        assert client.get(admin_url(model, "change", model.objects.order_by("pk").first().pk)).status_code in (
            302, 403)
    for model in FLOOR:
        assert client.get(admin_url(model, "changelist")).status_code == 200


def test_reference_data_is_for_admins(staff_client, ledger):
    assert not {"Country", "State"} & listed_models(staff_client(Role.MANAGER).get("/admin/"))
    assert {"Country", "State"} <= listed_models(staff_client(Role.ADMIN).get("/admin/"))
    assert staff_client(Role.MANAGER).get(admin_url(Country, "changelist")).status_code == 403
    assert staff_client(Role.ADMIN).get(admin_url(State, "changelist")).status_code == 200


def test_superusers_see_the_internals(superuser_client, ledger):
    listed = listed_models(superuser_client.get("/admin/"))
    assert {m.__name__ for m in INTERNALS} <= listed
    for model in INTERNALS:
        assert superuser_client.get(admin_url(model, "changelist")).status_code == 200


def test_pages_are_branded(staff_client, ledger):
    page = staff_client(Role.VIEWER).get("/admin/").content.decode()
    assert "Stockroom · warehouse admin" in page and "<title>Site administration | Stockroom</title>" in page
    assert "admin/stockroom.css" in page


@pytest.mark.parametrize(("model", "most"), [(StockMovement, 6), (StockItem, 6), (StockLocation, 5),
                                             (Product, 3), (Variant, 4), (Allocation, 6), (StockTransfer, 6)])
def test_lists_have_few_columns(staff_client, ledger, model, most):
    response = staff_client(Role.VIEWER).get(admin_url(model, "changelist"))
    assert len(response.context["cl"].list_display) - 1 <= most  # the first is the action checkbox


def test_movements_have_a_date_hierarchy_and_filters(staff_client, ledger):
    client = staff_client(Role.VIEWER)
    today = timezone.now()
    response = client.get(admin_url(StockMovement, "changelist"),
                          {"movement_date__year": today.year, "movement_date__month": today.month,
                           "action__exact": "sold", "stock_location__id__exact": ledger["main"].pk})
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert rows and all(m.action == "sold" and m.stock_location_id == ledger["main"].pk for m in rows)


@pytest.mark.parametrize("field", ["sku", "location"])
def test_search_by_sku_or_location_code(staff_client, ledger, field):
    item = ledger["items"][0]
    term = item.variant.sku if field == "sku" else ledger["shop"].code
    for model in (StockItem, StockMovement):
        rows = staff_client(Role.VIEWER).get(admin_url(model, "changelist"), {"q": term}).context["cl"].result_list
        assert rows
        for row in rows:
            stock_item = row if model is StockItem else row.stock_item
            assert term in (stock_item.variant.sku, stock_item.stock_location.code)


def test_a_batch_shows_the_date_it_was_received_not_of_the_last_repost(superuser_client):
    item = StockItemFactory()
    received = timezone.now() - timedelta(days=40)
    services.record_movement(services.MovementRequest(stock_item=item, quantity=5, action="received",
                                                      movement_date=received, value_per_unit="2"))
    services.record_movement(services.MovementRequest(stock_item=item, quantity=1, action="received",
                                                      movement_date=received - timedelta(days=1)))  # reposts
    expected = timezone.localtime(received).strftime("%Y-%m-%d %H:%M")
    assert expected in superuser_client.get(admin_url(StockItem, "change", item.pk)).content.decode()
    assert expected in superuser_client.get(admin_url(CostLayer, "changelist")).content.decode()
