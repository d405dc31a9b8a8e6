"""Migration 0013 keeps one default stock location (the lowest id) before adding its unique constraint."""

from __future__ import annotations

import pytest

from inventory.models import StockLocation
from tests.test_migrations import migrating

pytestmark = pytest.mark.django_db(transaction=True)


def test_0013_keeps_the_oldest_default_location():
    with migrating("0010_stock_location_address_item_discard", "0013_stock_location_one_default") as apps:
        location = apps.get_model("inventory", "StockLocation")
        location.objects.create(name="Plain", code="PLAIN")
        first = location.objects.create(name="First", code="FIRST", default=True)
        location.objects.create(name="Second", code="SECOND", default=True)
        location.objects.create(name="Third", code="THIRD", default=True)
    assert list(StockLocation.objects.filter(default=True).values_list("pk", flat=True)) == [first.pk]
    assert StockLocation.objects.count() == 4
