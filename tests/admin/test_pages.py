"""Every changelist, add page and change page renders, with data present, for the right roles."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import Role, User
from inventory.models import (
    Allocation,
    CostLayer,
    MovementAudit,
    Product,
    StockItem,
    StockLocation,
    StockMovement,
    StockTransfer,
    Variant,
)
from tests.tables import project_models

pytestmark = pytest.mark.django_db

MODELS = project_models()
ADDABLE = [User, Product, Variant, StockLocation, StockItem, StockMovement]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_model_is_registered():
    for model in MODELS:
        assert admin.site.is_registered(model), model


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_renders_with_rows(superuser_client, ledger, model):
    response = superuser_client.get(url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_change_page_renders(superuser_client, ledger, model):
    obj = model.objects.order_by("pk").first()
    response = superuser_client.get(url(model, "change", obj.pk))
    assert response.status_code == 200


@pytest.mark.parametrize("model", ADDABLE, ids=lambda m: m.__name__)
def test_add_page_renders(superuser_client, ledger, model):
    assert superuser_client.get(url(model, "add")).status_code == 200


@pytest.mark.parametrize(("model", "query"), [
    (StockItem, {"q": "SKU"}), (StockItem, {"reorder": "below"}), (StockItem, {"stock_location__id__exact": "1"}),
    (StockMovement, {"q": "R1"}), (StockMovement, {"action__exact": "sold"}),
    (StockMovement, {"movement_date__gte": "2020-01-01 00:00:00+00:00"}),
    (Product, {"q": "Product", "status": "active"}), (Variant, {"q": "SKU"}), (StockLocation, {"q": "MAIN"}),
    (CostLayer, {"open": "open"}), (CostLayer, {"open": "shortfall"}), (MovementAudit, {"operation__exact": "update"}),
    (StockTransfer, {"q": "restock"}), (Allocation, {"status__exact": "allocated"}),
])
def test_search_and_filters(superuser_client, ledger, model, query):
    assert superuser_client.get(url(model, "changelist"), query).status_code == 200


def test_stock_item_page_shows_movements_and_batches(superuser_client, ledger):
    item = ledger["items"][0]
    page = superuser_client.get(url(StockItem, "change", item.pk)).content.decode()
    for movement in StockMovement.objects.filter(stock_item=item):
        assert f"#{movement.pk}</a>" in page
    layer = CostLayer.objects.filter(stock_item=item).exclude(quantity_remaining=0).get()
    assert "2.5000" in page and str(layer.quantity_remaining) in page
    # Stock figures are not inputs.
    assert 'name="count_on_hand"' not in page and 'name="value_in_stock"' not in page


def test_movement_page_shows_running_figures_read_only_and_its_audit(superuser_client, ledger):
    sale = StockMovement.objects.filter(stock_item=ledger["items"][0], action="sold").get()
    page = superuser_client.get(url(StockMovement, "change", sale.pk)).content.decode()
    for figure in ("balance_after", "total_cost", "value_in_stock_after", "average_cost_after", "rank",
                   "value_per_unit"):
        assert f'name="{figure}"' not in page
    assert 'name="quantity"' in page  # admins may edit it
    assert "notes: " in page and "edited" in page  # the audit inline


def test_viewer_sees_everything_read_only(staff_client, ledger):
    client = staff_client(Role.VIEWER)
    item = ledger["items"][0]
    assert client.get(url(StockItem, "changelist")).status_code == 200
    page = client.get(url(StockItem, "change", item.pk))
    assert page.status_code == 200
    assert 'name="reorder_point"' not in page.content.decode()
    assert client.get(url(StockItem, "add")).status_code == 403
    assert client.get(url(StockMovement, "add")).status_code == 403


def test_manager_records_movements_but_does_not_manage_the_catalogue(staff_client, ledger):
    client = staff_client(Role.MANAGER)
    assert client.get(url(StockMovement, "add")).status_code == 200
    assert client.get(url(Product, "add")).status_code == 403
    assert client.get(url(StockItem, "add")).status_code == 403


def test_non_staff_are_sent_to_login(client, ledger):
    response = client.get(url(StockItem, "changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_transfer_page_lists_both_legs(superuser_client, ledger):
    transfer = StockTransfer.objects.first()
    page = superuser_client.get(url(StockTransfer, "change", transfer.pk)).content.decode()
    assert "transferred_out" in page or "Transferred out" in page
    assert "Transferred in" in page or "transferred_in" in page
