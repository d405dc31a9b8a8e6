"""Concurrent writers on PostgreSQL: row locks keep every invariant, refusals are exact, no deadlocks.

Each thread opens its own connection (Django gives each thread one) and closes it at the end.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from inventory import services
from inventory.models import StockItem, StockMovement
from inventory.services.errors import InsufficientStock
from inventory.services.recount import recount
from tests.conftest import requires_postgres
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory
from tests.services.invariants import assert_invariants

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_threads(count: int, work: Callable[[int], str]) -> Counter:
    """Run work(i) in `count` threads released at the same moment; Counter of what they returned."""
    start = threading.Barrier(count)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def target(index: int) -> None:
        try:
            start.wait()
            outcome = work(index)
            with lock:
                results.append(outcome)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread below
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    assert not errors, errors
    return Counter(results)


def test_sixteen_threads_hammering_one_item_lose_no_update():
    item = StockItemFactory(count_on_hand=100, value_per_unit="2.00")
    rounds = 10

    def work(index: int) -> str:
        for step in range(rounds):
            if (index + step) % 2:
                services.receive(item.pk, 1, value_per_unit="3.00")
            else:
                services.sell(item.pk, 1)
        return "done"

    assert run_threads(16, work) == Counter(done=16)
    item = assert_invariants(item)
    assert item.count_on_hand == 100  # 80 receipts and 80 sales
    assert StockMovement.objects.filter(stock_item=item).count() == 1 + 16 * rounds


def test_forty_threads_selling_twenty_units_exactly_twenty_succeed():
    item = StockItemFactory(count_on_hand=20, value_per_unit="5.00")

    def work(index: int) -> str:
        try:
            services.sell(item.pk, 1)
        except InsufficientStock:
            return "refused"
        return "sold"

    assert run_threads(40, work) == Counter(sold=20, refused=20)
    item = assert_invariants(item)
    assert (item.count_on_hand, item.value_in_stock) == (0, Decimal("0.00"))
    assert StockMovement.objects.filter(stock_item=item, action="sold").count() == 20


def test_opposite_transfers_do_not_deadlock_and_conserve_stock_and_value():
    a, b = StockLocationFactory(code="CA"), StockLocationFactory(code="CB")
    variants = [VariantFactory(), VariantFactory()]
    for variant in variants:
        StockItemFactory(stock_location=a, variant=variant, count_on_hand=200, value_per_unit="4.00")
        StockItemFactory(stock_location=b, variant=variant, count_on_hand=200, value_per_unit="6.00")
    total_value = 2 * (200 * Decimal("4.00") + 200 * Decimal("6.00"))
    rounds = 8

    def work(index: int) -> str:
        source, destination = (a, b) if index % 2 else (b, a)
        # Two lines in opposite orders: only locking in pk order keeps these from deadlocking.
        lines = [(variants[0], 1 + index % 3), (variants[1], 2)]
        for step in range(rounds):
            services.transfer(source, destination, lines if step % 2 else lines[::-1])
        return "done"

    assert run_threads(12, work) == Counter(done=12)
    items = StockItem.objects.filter(variant__in=variants)
    for item in items:
        assert_invariants(item, check_recount=False)
    for variant in variants:
        assert sum(i.count_on_hand for i in items if i.variant_id == variant.pk) == 400
    assert sum(i.value_in_stock for i in items) == total_value
    assert recount().drifts == []


def test_recount_fix_while_writers_run_leaves_a_consistent_ledger():
    location = StockLocationFactory(code="LIVE")
    items = [StockItemFactory(stock_location=location, variant=VariantFactory(), count_on_hand=50) for _ in range(4)]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {StockItem._meta.db_table} SET count_on_hand = 999 WHERE id = %s", [items[0].pk])

    def work(index: int) -> str:
        if index == 0:
            for _ in range(3):
                recount(location_code="LIVE", fix=True)
            return "recount"
        for step in range(10):
            target = items[(index + step) % len(items)].pk
            services.adjust(target, 1 if step % 2 else -1)
        return "writer"

    assert run_threads(6, work) == Counter(writer=5, recount=1)
    for item in items:
        assert_invariants(item)
    assert recount(location_code="LIVE").drifts == []


def test_backdated_writes_at_a_transfer_source_and_transfers_do_not_deadlock():
    """A backdated receipt at a transfer's source reposts the destination too (locking it after the source),
    while transfers lock both items in pk order: the destination is given the lower pk here on purpose."""
    a, b = StockLocationFactory(code="DA"), StockLocationFactory(code="DB")
    variant = VariantFactory()
    low = StockItemFactory(stock_location=a, variant=variant, count_on_hand=100, value_per_unit="1.00")
    high = StockItemFactory(stock_location=b, variant=variant, count_on_hand=100, value_per_unit="2.00")
    assert low.pk < high.pk
    services.transfer(b, a, [(variant, 10)])  # high -> low: low depends on high's cost
    past = timezone.now() - timedelta(days=1)

    def work(index: int) -> str:
        for step in range(6):
            if index % 2:
                services.receive(high.pk, 1, value_per_unit=f"{3 + step}.00", movement_date=past)
            else:
                source, destination = (a, b) if (index + step) % 4 < 2 else (b, a)
                services.transfer(source, destination, [(variant, 1)])
        return "done"

    assert run_threads(8, work) == Counter(done=8)
    items = [assert_invariants(item) for item in (low, high)]
    assert sum(i.count_on_hand for i in items) == 200 + 4 * 6
    # Every unit ever received, at its cost: transfers, reposted or not, neither create nor lose value.
    assert sum(i.value_in_stock for i in items) == 100 * 1 + 100 * 2 + 4 * sum(range(3, 9))


def test_a_sale_that_waited_for_the_lock_draws_on_the_layers_as_the_holder_left_them():
    # The item lock statement also reads the open layers (services/locking.py). A sale that waits there for
    # another writer must see the layers that writer committed, not those of the moment its statement began.
    item = StockItemFactory(count_on_hand=0)
    services.receive(item.pk, 3, value_per_unit=Decimal("1.00"))
    services.receive(item.pk, 5, value_per_unit=Decimal("2.00"))
    holder_sold = threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic():
                services.sell(item.pk, 3)  # empties the first batch; the lock is held until the outer commit
                holder_sold.set()
                with connection.cursor() as cursor:
                    for _ in range(200):  # until the other sale waits for the lock
                        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                       "AND datname = current_database()")
                        if cursor.fetchone()[0]:
                            break
                        time.sleep(0.02)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert holder_sold.wait(30)
    waited = services.sell(item.pk, 2)
    thread.join(30)
    assert waited.value_per_unit == Decimal("2.00")  # from the second batch: the first was gone
    assert sorted(StockItem.objects.get(pk=item.pk).cost_layers.values_list("quantity_remaining", flat=True)) == [0, 3]
    assert_invariants(item.pk)
    assert recount(deep=True).drifts == []
