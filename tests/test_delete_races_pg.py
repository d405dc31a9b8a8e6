"""Deleting a stock location while something is written there (issue 12.8), on PostgreSQL: one side wins,
the other gets a clean refusal, never a foreign key violation at commit (which the loser used to get, 1 in
56 tries, as a 500). Each race is made deterministic: the first transaction is held open while the second
runs into it, then released."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from accounts.models import Role
from inventory import services
from inventory.models import StockItem, StockLocation, StockMovement
from inventory.services.catalog_edits import CatalogError, delete_location
from inventory.services.errors import Conflict
from inventory.services.stock_items import delete_stock_item
from tests.conftest import requires_postgres
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SETTLE = 0.1  # seconds the first transaction stays open once the second waits for it


def outcome(work: Callable[[], object]) -> object:
    try:
        return work()
    except Exception as exc:  # noqa: BLE001 - the race's result, compared by the test
        return exc


def someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                       " AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0] > 0


def race(first: Callable[[], object], second: Callable[[], object]) -> tuple[object, object]:
    """Run `first` in a transaction held open until `second` (another thread, another connection) has run into
    it (waits for one of its locks) or finished; the outcome (result or exception) of each."""
    done, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def hold_first() -> None:
        try:
            def held():
                with transaction.atomic():
                    value = first()
                    done.set()
                    release.wait(30)
                    return value
            results["first"] = outcome(held)
        finally:
            done.set()
            connection.close()

    def then_second() -> None:
        try:
            done.wait(30)
            results["second"] = outcome(second)
        finally:
            connection.close()

    threads = [threading.Thread(target=hold_first), threading.Thread(target=then_second)]
    for thread in threads:
        thread.start()
    done.wait(30)
    # Release the first once the second is blocked on one of its locks (or has finished without blocking).
    deadline = time.monotonic() + 30
    while "second" not in results and not someone_waits_for_a_lock() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(SETTLE)
    release.set()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "stuck"
    return results["first"], results["second"]


@pytest.fixture
def empty_location():
    location = StockLocationFactory(code="EMPTY")
    item = StockItemFactory(stock_location=location)
    return location, item


def test_a_movement_in_flight_wins_and_the_deletion_is_refused(empty_location):
    location, item = empty_location
    posted, deleted = race(lambda: services.receive(item.pk, 5), lambda: delete_location(location))
    assert isinstance(posted, StockMovement), posted
    assert isinstance(deleted, CatalogError) and "stock history" in deleted.message, deleted
    assert StockItem.objects.get(pk=item.pk).count_on_hand == 5


def test_a_deletion_in_flight_wins_and_the_movement_finds_no_item(empty_location):
    location, item = empty_location
    deleted, posted = race(lambda: delete_location(location), lambda: services.receive(item.pk, 5))
    assert deleted is None
    assert isinstance(posted, StockItem.DoesNotExist), posted
    assert not StockLocation.objects.filter(code="EMPTY").exists()


def warehouse_receipt(client: APIClient, location: StockLocation, variant) -> Callable[[], int]:
    """A warehouse `in` movement of a variant the location has no stock item for: it creates one."""
    location_id = location.pk  # deleting the location clears the instance's pk

    def post() -> int:
        own = APIClient()
        own.credentials(**client._credentials)
        body = {"product_id": variant.pk, "warehouse_id": location_id, "movement_type": "in", "quantity": 3}
        return own.post("/api/v1/inventory/movements", body, format="json").status_code
    return post


def test_a_deletion_in_flight_wins_over_a_write_that_creates_a_stock_item(empty_location, make_client):
    location, _ = empty_location
    new_variant = VariantFactory()
    receipt = warehouse_receipt(make_client(Role.MANAGER), location, new_variant)
    deleted, status = race(lambda: delete_location(location), receipt)
    assert deleted is None
    assert status == 404  # was a 500: IntegrityError at commit, the location gone under the new item
    assert not StockItem.objects.filter(variant=new_variant).exists()
    assert not StockLocation.objects.filter(code="EMPTY").exists()


def test_a_write_creating_a_stock_item_in_flight_wins_and_the_deletion_gets_409(empty_location, make_client):
    location, _ = empty_location
    new_variant = VariantFactory()
    admin = make_client(Role.ADMIN)

    def create_item():
        return services.create_stock_item(location, new_variant, count_on_hand=2)

    def delete_by_api() -> object:
        own = APIClient()
        own.credentials(**admin._credentials)
        response = own.delete(f"/api/v1/stock_locations/{location.pk}")
        return response.status_code, response.get("Retry-After"), response.json()

    created, (status, retry_after, body) = race(create_item, delete_by_api)
    assert isinstance(created, StockItem), created
    assert (status, retry_after) == (409, "1"), body
    assert StockItem.objects.get(pk=created.pk).count_on_hand == 2
    with pytest.raises(CatalogError):  # and now it has history
        delete_location(location)


def test_conflict_is_a_stock_error_the_admin_shows():
    assert issubclass(Conflict, services.StockError)


def test_a_transfer_into_an_empty_item_being_deleted_finds_it_gone():
    """Sibling: the Spree stock item DELETE of an empty item while a transfer (or a count) that read it is
    about to lock it: a clean DoesNotExist (404), not a KeyError (500)."""
    source, destination = StockLocationFactory(code="FROM"), StockLocationFactory(code="TO")
    variant = VariantFactory()
    StockItemFactory(stock_location=source, variant=variant, count_on_hand=5)
    empty = StockItemFactory(stock_location=destination, variant=variant)
    deleted, moved = race(lambda: delete_stock_item(empty),
                          lambda: services.transfer(source, destination, [(variant, 2)]))
    assert deleted is None
    assert isinstance(moved, StockItem.DoesNotExist), moved
    assert not StockMovement.objects.filter(action="transferred_out").exists()
