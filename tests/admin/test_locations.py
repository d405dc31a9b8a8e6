"""Stock locations edited in the admin follow the API's rules (issue 12 item 3a): one default location,
backed by the database, and turning propagation on creates the stock items."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Role
from inventory.models import StockItem, StockLocation
from tests.admin.test_writes import post_add, post_change
from tests.factories import StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


def location_form(location: StockLocation, **changes) -> dict:
    data = {"name": location.name, "active": "on" if location.active else "",
            "default": "on" if location.default else "",
            "backorderable_default": "on" if location.backorderable_default else "",
            "propagate_all_variants": "on" if location.propagate_all_variants else ""}
    data.update({key: ("on" if value is True else "" if value is False else value) for key, value in changes.items()})
    return {key: value for key, value in data.items() if value != ""}


def test_turning_propagation_on_in_the_admin_creates_stock_items(staff_client):
    variants = VariantFactory.create_batch(3)
    location = StockLocationFactory(propagate_all_variants=False)
    response = post_change(staff_client(Role.ADMIN), location, location_form(location, propagate_all_variants=True))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert set(StockItem.objects.filter(stock_location=location).values_list("variant_id", flat=True)) == {
        v.pk for v in variants}


def test_making_a_location_default_in_the_admin_unsets_the_old_default(staff_client):
    old = StockLocationFactory(default=True)
    new = StockLocationFactory()
    response = post_change(staff_client(Role.ADMIN), new, location_form(new, default=True))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(StockLocation.objects.filter(default=True)) == [new]
    old.refresh_from_db()
    assert old.default is False


def test_adding_a_default_location_in_the_admin_unsets_the_old_default(staff_client):
    StockLocationFactory(default=True)
    response = post_add(staff_client(Role.ADMIN), StockLocation, {
        "name": "New", "code": "NEWDEF", "active": "on", "default": "on"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(StockLocation.objects.filter(default=True).values_list("code", flat=True)) == ["NEWDEF"]


def test_an_unchanged_save_writes_nothing_else(staff_client):
    location = StockLocationFactory(default=True, propagate_all_variants=False)
    VariantFactory()
    response = post_change(staff_client(Role.ADMIN), location, location_form(location, name="Renamed"))
    assert response.status_code == 302
    location.refresh_from_db()
    assert (location.name, location.default) == ("Renamed", True)
    assert not StockItem.objects.filter(stock_location=location).exists()


def test_the_database_refuses_a_second_default_location():
    StockLocationFactory(default=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLocationFactory(default=True)
    StockLocationFactory(default=False)
    assert StockLocation.objects.filter(default=True).count() == 1
