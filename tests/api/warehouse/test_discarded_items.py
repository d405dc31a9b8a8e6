"""A discarded stock item (`deleted_at` set: deleted with a ledger, Solidus's way) counts in no figure:
not in the warehouse levels, not in analytics, not on the staff dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory import services
from inventory.models import StockItem
from inventory.reports.analytics import PERIODS
from inventory.services.stock_items import delete_stock_item
from tests.api.warehouse.conftest import BASE, opened
from tests.api.warehouse.test_analytics import history  # noqa: F401 - the dated ledger the figures come from
from tests.factories import UserFactory, VariantFactory

pytestmark = pytest.mark.django_db


def figures(viewer_client, staff_client) -> dict:
    """Every figure the three readers show, less the instants they were computed at."""
    shown = {}
    for period in PERIODS:
        response = viewer_client.get(f"{BASE}/analytics", {"period": period})
        assert response.status_code == 200, response.content
        shown[period] = response.json()["data"]
        del shown[period]["period"]
    response = viewer_client.get(BASE)
    assert response.status_code == 200, response.content
    shown["levels"] = response.json()
    response = staff_client.get("/dashboard/data.json", {"days": 366})
    assert response.status_code == 200, response.content
    dashboard = response.json()
    del dashboard["generated_at"]
    shown["dashboard"] = dashboard
    return shown


def test_a_discarded_item_counts_in_no_figure(history, stock, viewer_client, client):  # noqa: F811
    client.force_login(UserFactory(username="staff", is_staff=True))
    before = figures(viewer_client, client)
    # Low stock, valued, moved inside every period: it would show in each figure.
    widget = opened(stock.main, VariantFactory(sku="WIDGET-1", product__name="Widget"), 7, "4.00", reorder_point=20)
    services.sell(widget, 2, movement_date=timezone.now() - timedelta(days=3))
    services.adjust(widget, 1)
    live = figures(viewer_client, client)
    for name in before:
        assert live[name] != before[name], name

    delete_stock_item(widget)

    assert StockItem.objects.get(pk=widget.pk).deleted_at is not None
    after = figures(viewer_client, client)
    for name in before:
        assert after[name] == before[name], name
