"""The commonest movement appended by PostgreSQL in the statement that locks its item (services/sql_append.py,
migration 0016): the same rows and figures as the service's own valuation, one round trip, and every case it
does not value left to the service with nothing written.

The property test posts random receipts (with a cost, at the variant's cost price, at the running average),
sales, returns and adjustments, short sales on a backorderable item and refused ones, under FIFO and moving
average; after each it checks the ledger's invariants, and at the end rebuilds every item from nothing with the
reference valuation (`services.rebuild`, Python) inside a savepoint: not a unit or a cent may change.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory import services
from inventory.models import CostLayer, LayerConsumption, StockItem, StockMovement
from inventory.services import sql_append
from inventory.services.errors import StockError
from inventory.services.locking import lock_items
from inventory.services.rebuild import rebuild_item
from tests.conftest import requires_postgres
from tests.factories import StockItemFactory, StockLocationFactory, UserFactory, VariantFactory
from tests.pgtrace import frontend_messages
from tests.services.invariants import assert_invariants
from tests.services.test_tail_repost import figures

pytestmark = [requires_postgres, pytest.mark.django_db]

cost = st.sampled_from([None, "0.50", "3.25", "12.00", "7.3333"])
item_index = st.integers(0, 3)  # items 1 and 3 are backorderable; items 2 and 3 have a cost price
step = st.one_of(
    st.tuples(st.just("receive"), item_index, st.integers(1, 30), cost),
    st.tuples(st.just("return_items"), item_index, st.integers(1, 5), cost),
    st.tuples(st.just("sell"), item_index, st.integers(1, 12), st.none()),
    st.tuples(st.just("adjust"), item_index, st.integers(-8, 8).filter(bool), st.none()),
)


@pytest.mark.parametrize("method", ["fifo", "average"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=25))
def test_appended_in_sql_as_the_reference_valuation_values_it(method, steps):
    with override_settings(STOCKROOM_VALUATION=method), transaction.atomic():
        user = UserFactory(role="admin")
        location = StockLocationFactory()
        variants = [VariantFactory(cost_price=None), VariantFactory(cost_price=Decimal("3.14159"))]
        items = [StockItemFactory(stock_location=location, variant=variants[n // 2], backorderable=bool(n % 2))
                 for n in range(4)]
        for kind, n, quantity, unit_cost in steps:
            fields = {"value_per_unit": unit_cost} if unit_cost is not None else {}
            with contextlib.suppress(StockError):  # refusals are part of the game
                getattr(services, kind)(items[n].pk, quantity, user=user, **fields)
            assert_invariants(items[n], check_recount=False)
        ids = [item.pk for item in items]
        stored = figures(ids)
        with transaction.atomic():
            for item in lock_items(ids).values():
                rebuild_item(item)
            assert figures(ids) == stored
            transaction.set_rollback(True)
        transaction.set_rollback(True)


def test_a_plain_sale_is_one_statement_and_one_round_trip():
    item = StockItemFactory()
    services.receive(item.pk, 10, value_per_unit="2.50")
    sent = frontend_messages(lambda: services.sell(item.pk, 3))
    assert len([line for line in sent if "\tExecute\t" in line]) == 1, sent
    assert len([line for line in sent if "\tSync" in line]) == 1, sent
    assert not [line for line in sent if "BEGIN" in line or "COMMIT" in line], sent
    item = StockItem.objects.get(pk=item.pk)
    assert (item.count_on_hand, item.value_in_stock) == (7, Decimal("17.50"))
    layer = CostLayer.objects.get(stock_item=item)
    assert layer.quantity_remaining == 7
    sale = StockMovement.objects.filter(stock_item=item, action="sold").get()
    assert (sale.total_cost, sale.value_per_unit, sale.rank) == (Decimal("7.50"), Decimal("2.5000"), 2)
    assert LayerConsumption.objects.get(movement=sale).quantity == 3


@pytest.mark.parametrize("case", ["short sale", "refused sale", "receipt into a short item", "counted",
                                  "other location", "discarded item"])
def test_what_the_function_does_not_value_goes_to_the_service_with_nothing_written_twice(case):
    item = StockItemFactory(backorderable=case != "refused sale")
    services.receive(item.pk, 2)
    if case == "receipt into a short item":
        services.sell(item.pk, 5)
    if case == "discarded item":
        StockItem.objects.filter(pk=item.pk).update(deleted_at=StockItem.objects.get(pk=item.pk).created_at)
    request = {
        "short sale": services.MovementRequest(stock_item=item.pk, quantity=-5, action="sold"),
        "refused sale": services.MovementRequest(stock_item=item.pk, quantity=-5, action="sold"),
        "receipt into a short item": services.MovementRequest(stock_item=item.pk, quantity=4, action="received"),
        "counted": services.MovementRequest(stock_item=item.pk, quantity=1, action="counted"),
        "other location": services.MovementRequest(stock_item=item.pk, quantity=1, action="received",
                                                   location=item.stock_location_id + 1000),
        "discarded item": services.MovementRequest(stock_item=item.pk, quantity=1, action="received"),
    }[case]
    before = StockMovement.objects.count()
    assert sql_append.append(request) is None
    assert StockMovement.objects.count() == before
    with contextlib.suppress(StockError):
        services.record_movement(request)
    assert_invariants(item)


def test_inside_a_callers_transaction_the_append_is_one_of_its_statements():
    item = StockItemFactory()
    with transaction.atomic():
        services.receive(item.pk, 4)
        assert connection.in_atomic_block
        transaction.set_rollback(True)
    assert not StockMovement.objects.filter(stock_item=item).exists()
    assert StockItem.objects.get(pk=item.pk).count_on_hand == 0
