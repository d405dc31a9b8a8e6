from __future__ import annotations

import threading

import pytest
from django.db import connection

from inventory.models import Action, Allocation, StockItem, StockMovement
from inventory.services import InsufficientStock, sell
from inventory.services.allocations import allocate, fulfil, release
from inventory.services.errors import AllocationError
from tests.conftest import requires_postgres
from tests.factories import AllocationFactory, StockItemFactory, UserFactory


def fresh(item: StockItem) -> StockItem:
    item.refresh_from_db()
    return item


@pytest.mark.django_db
class TestAllocate:
    def test_reserves_without_touching_on_hand(self):
        item = StockItemFactory(count_on_hand=10)
        user = UserFactory()
        allocation = allocate(item, 4, user=user, reference_type="order", reference_id="R100")
        assert (allocation.status, allocation.quantity, allocation.created_by) == ("allocated", 4, user)
        assert (allocation.reference_type, allocation.reference_id) == ("order", "R100")
        item = fresh(item)
        assert (item.count_on_hand, item.quantity_allocated, item.num_available) == (10, 4, 6)
        assert StockMovement.objects.filter(stock_item=item).count() == 1  # only the opening receipt

    def test_up_to_available_then_refused(self):
        item = StockItemFactory(count_on_hand=10)
        allocate(item, 7)
        allocate(item, 3)
        with pytest.raises(InsufficientStock, match="Only 0 of"):
            allocate(item, 1)
        assert fresh(item).quantity_allocated == 10
        assert Allocation.objects.count() == 2

    def test_over_allocation_refused_and_nothing_written(self):
        item = StockItemFactory(count_on_hand=5)
        with pytest.raises(InsufficientStock):
            allocate(item, 6)
        assert fresh(item).quantity_allocated == 0
        assert not Allocation.objects.exists()

    def test_backorderable_item_may_be_over_allocated(self):
        item = StockItemFactory(count_on_hand=2, backorderable=True)
        allocate(item, 5)
        item = fresh(item)
        assert (item.quantity_allocated, item.num_available) == (5, -3)

    @pytest.mark.parametrize("quantity", [0, -1, 1.5, "3", True])
    def test_quantity_must_be_positive_whole_number(self, quantity):
        item = StockItemFactory(count_on_hand=5)
        with pytest.raises(AllocationError):
            allocate(item, quantity)
        assert not Allocation.objects.exists()

    def test_reference_too_long(self):
        item = StockItemFactory(count_on_hand=5)
        with pytest.raises(AllocationError) as raised:
            allocate(item, 1, reference_id="x" * 65)
        assert raised.value.field == "reference_id"

    def test_sales_reduce_what_can_be_allocated(self):
        item = StockItemFactory(count_on_hand=5)
        sell(item, 4)
        with pytest.raises(InsufficientStock):
            allocate(item, 2)

    def test_factory_goes_through_the_service(self):
        allocation = AllocationFactory(quantity=3)
        assert fresh(allocation.stock_item).quantity_allocated == 3


@pytest.mark.django_db
class TestRelease:
    def test_gives_stock_back(self):
        item = StockItemFactory(count_on_hand=10)
        allocation = allocate(item, 4)
        released = release(allocation)
        assert released.status == Allocation.Status.RELEASED
        assert fresh(item).quantity_allocated == 0
        allocate(item, 10)  # all of it is available again

    def test_only_from_allocated(self):
        item = StockItemFactory(count_on_hand=10)
        allocation = allocate(item, 4)
        release(allocation)
        with pytest.raises(AllocationError, match="released"):
            release(allocation)
        with pytest.raises(AllocationError):
            fulfil(allocation)
        assert fresh(item).quantity_allocated == 0

    def test_accepts_an_id(self):
        allocation = AllocationFactory(quantity=2)
        assert release(allocation.pk).status == "released"


@pytest.mark.django_db
class TestFulfil:
    def test_ships_as_a_sold_movement_with_the_reference(self):
        item = StockItemFactory(count_on_hand=10, value_per_unit="3.00")
        user = UserFactory()
        allocation = allocate(item, 4, reference_type="order", reference_id="R7")
        done = fulfil(allocation, user=user)
        assert done.status == Allocation.Status.FULFILLED
        movement = done.fulfilment_movement
        assert (movement.action, movement.quantity, movement.balance_after) == (Action.SOLD, -4, 6)
        assert (movement.resource_type, movement.resource_id, movement.created_by) == ("order", "R7", user)
        assert movement.total_cost == 12
        item = fresh(item)
        assert (item.count_on_hand, item.quantity_allocated) == (6, 0)
        assert item.count_on_hand == sum(item.movements.values_list("quantity", flat=True))

    def test_twice_is_refused(self):
        allocation = AllocationFactory(quantity=2)
        fulfil(allocation)
        with pytest.raises(AllocationError, match="fulfilled"):
            fulfil(allocation)
        with pytest.raises(AllocationError):
            release(allocation)
        assert StockMovement.objects.filter(action=Action.SOLD).count() == 1

    def test_refused_when_stock_went_elsewhere(self):
        item = StockItemFactory(count_on_hand=5)
        allocation = allocate(item, 5)
        # A direct sale does not look at reservations; it can leave too little to ship.
        sell(item, 3)
        with pytest.raises(InsufficientStock):
            fulfil(allocation)
        allocation.refresh_from_db()
        item = fresh(item)
        assert allocation.status == "allocated" and allocation.fulfilment_movement is None
        assert (item.count_on_hand, item.quantity_allocated) == (2, 5)

    def test_backorderable_ships_short(self):
        item = StockItemFactory(count_on_hand=1, backorderable=True)
        fulfil(allocate(item, 3))
        item = fresh(item)
        assert (item.count_on_hand, item.quantity_allocated) == (-2, 0)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_allocations_never_over_allocate():
    item = StockItemFactory(count_on_hand=10)
    workers, per_worker, wanted = 8, 4, 1
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(per_worker):
                try:
                    allocate(item.pk, wanted + 1)
                    result = "ok"
                except InsufficientStock:
                    result = "refused"
                with lock:
                    outcomes.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    item = fresh(item)
    granted = Allocation.objects.filter(stock_item=item).values_list("quantity", flat=True)
    assert outcomes.count("ok") == 5 and outcomes.count("refused") == workers * per_worker - 5
    assert item.quantity_allocated == sum(granted) == 10
    assert item.count_on_hand == 10


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_fulfil_and_release_of_one_allocation_apply_once():
    item = StockItemFactory(count_on_hand=10)
    allocation = allocate(item, 6)
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def run(transition) -> None:
        try:
            barrier.wait()
            transition(allocation.pk)
        except AllocationError as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(t,)) for t in (fulfil, release)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    allocation.refresh_from_db()
    item = fresh(item)
    assert len(errors) == 1
    assert item.quantity_allocated == 0
    if allocation.status == "fulfilled":
        assert item.count_on_hand == 4
    else:
        assert allocation.status == "released" and item.count_on_hand == 10
