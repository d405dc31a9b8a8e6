"""One default stock location under concurrent writers (issue 12 item 3a), on PostgreSQL: however many
admins or API clients make different locations the default at once, exactly one ends up default, and a
writer that loses the race gets an IntegrityError (a clean refusal), never a second default."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from inventory.models import StockLocation
from inventory.services import catalog_edits
from tests.conftest import requires_postgres
from tests.factories import StockLocationFactory
from tests.test_concurrency_pg import run_threads

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_default_changes_leave_exactly_one_default():
    StockLocationFactory(default=True)
    locations = StockLocationFactory.create_batch(8)

    def work(index: int) -> str:
        location = StockLocation.objects.get(pk=locations[index].pk)
        try:
            catalog_edits.update_location(location, default=True)
        except IntegrityError:
            return "refused"
        return "made default"

    outcomes = run_threads(len(locations), work)
    assert outcomes["made default"] >= 1
    assert outcomes["made default"] + outcomes["refused"] == len(locations)
    assert StockLocation.objects.filter(default=True).count() == 1


def test_concurrent_creations_of_default_locations_leave_exactly_one_default():
    def work(index: int) -> str:
        try:
            catalog_edits.create_location(name=f"L{index}", code=f"L{index}", default=True)
        except IntegrityError:
            return "refused"
        return "created"

    outcomes = run_threads(8, work)
    assert outcomes["created"] >= 1
    assert StockLocation.objects.filter(default=True).count() == 1
    assert StockLocation.objects.count() == outcomes["created"]
