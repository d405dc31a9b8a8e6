"""A single movement the service values itself (one that PostgreSQL does not append alone, services/sql_append.py:
here a short sale on a backorderable item) sends its BEGIN with its lock statement and its writes with its COMMIT
on PostgreSQL (config/postgresql, ledger_io.pipeline_until_commit): two round trips in all. What that must not
change: a statement that fails still fails the whole transaction, nothing of it is kept, and the connection goes
on working."""

from __future__ import annotations

from contextlib import contextmanager

import psycopg
import pytest
from django.db import IntegrityError, OperationalError, connection, transaction

from inventory import services
from inventory.models import CostLayer, LayerConsumption, StockItem, StockMovement
from inventory.services import ledger_io
from tests.conftest import requires_postgres
from tests.factories import StockItemFactory
from tests.pgtrace import frontend_messages
from tests.servers import database_url

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@contextmanager
def consumptions_refused():
    """A CHECK that every layer consumption breaks, added from another session (and dropped after)."""
    with psycopg.connect(database_url(), autocommit=True) as other:
        other.execute(f"ALTER TABLE {LayerConsumption._meta.db_table} ADD CONSTRAINT test_refuse CHECK (quantity < 0)")
        try:
            yield
        finally:
            other.execute(f"ALTER TABLE {LayerConsumption._meta.db_table} DROP CONSTRAINT test_refuse")


def test_the_commit_is_sent_with_the_writes():
    item = StockItemFactory(backorderable=True)
    services.receive(item.pk, 10)
    sent = frontend_messages(lambda: services.sell(item.pk, 13))
    insert = next(n for n, line in enumerate(sent) if 'INSERT INTO "inventory_stockmovement"' in line)
    commit = next(n for n, line in enumerate(sent) if '"COMMIT"' in line)
    # From the movement's INSERT to the COMMIT nothing waits for the server: no Sync between them.
    assert insert < commit and not [line for line in sent[insert:commit] if "\tSync" in line], sent[insert:]
    assert connection.connection._pipeline is None  # left with the commit
    item = StockItem.objects.get(pk=item.pk)
    assert (item.count_on_hand, StockMovement.objects.filter(stock_item=item).count()) == (-3, 2)


def test_a_movement_costs_two_round_trips_begin_with_the_lock():
    item = StockItemFactory(backorderable=True)
    services.receive(item.pk, 10)
    sent = frontend_messages(lambda: services.sell(item.pk, 13))
    begin = next(n for n, line in enumerate(sent) if '"BEGIN"' in line)
    first_wait = next(n for n, line in enumerate(sent) if n > begin and ("\tSync" in line or "\tFlush" in line))
    # BEGIN and the lock statement, then a Flush for the lock's answer (a Sync would end the batch).
    assert "\tFlush" in sent[first_wait], sent[begin:first_wait + 1]
    assert len([line for line in sent[begin:first_wait] if "\tExecute\t" in line]) == 2, sent[begin:first_wait + 1]
    # The writes and the COMMIT then go with the transaction's one Sync; nothing in the simple protocol. (Before
    # BEGIN, the one statement in which PostgreSQL declined to append the sale alone.)
    assert len([line for line in sent[begin:] if "\tSync" in line]) == 1, sent
    assert not [line for line in sent if "\tQuery\t" in line], sent
    assert connection.connection._pipeline is None and not connection.in_atomic_block
    assert StockItem.objects.get(pk=item.pk).count_on_hand == -3
    services.receive(item.pk, 1)  # the connection goes on working, psycopg's autocommit as Django left it
    assert connection.connection.autocommit is True and connection.get_autocommit() is True


def test_a_refused_lock_rolls_back_and_the_connection_works():
    item = StockItemFactory()
    services.receive(item.pk, 10)
    with psycopg.connect(database_url()) as holder:
        holder.execute(f"SELECT 1 FROM {StockItem._meta.db_table} WHERE id = %s FOR UPDATE", [item.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '100ms'")
        try:
            with pytest.raises(OperationalError):
                services.sell(item.pk, 3)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    assert connection.connection._pipeline is None and not connection.in_atomic_block
    services.sell(item.pk, 3)
    assert StockItem.objects.get(pk=item.pk).count_on_hand == 7


def test_a_write_refused_at_the_commit_keeps_nothing_and_the_connection_works():
    item = StockItemFactory()
    services.receive(item.pk, 10)
    with consumptions_refused(), pytest.raises(IntegrityError):
        services.sell(item.pk, 3)
    assert connection.connection._pipeline is None
    assert not connection.in_atomic_block
    item = StockItem.objects.get(pk=item.pk)
    assert (item.count_on_hand, StockMovement.objects.filter(stock_item=item).count()) == (10, 1)
    assert CostLayer.objects.get(stock_item=item).quantity_remaining == 10
    services.sell(item.pk, 3)  # the same connection, after the rollback
    assert StockItem.objects.get(pk=item.pk).count_on_hand == 7
    assert CostLayer.objects.get(stock_item=item).quantity_remaining == 7


def test_an_error_after_the_writes_rolls_them_back_and_leaves_the_pipeline():
    item = StockItemFactory(count_on_hand=4)
    with pytest.raises(RuntimeError), transaction.atomic():
        with ledger_io.pipelined(until_commit=True), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {StockItem._meta.db_table} SET count_on_hand = 40 WHERE id = %s", [item.pk])
        assert connection.connection._pipeline is not None  # kept for the commit
        raise RuntimeError("after the writes, before the commit")
    assert connection.connection._pipeline is None
    assert StockItem.objects.get(pk=item.pk).count_on_hand == 4


def test_inside_an_outer_transaction_the_writes_are_waited_for_as_usual():
    item = StockItemFactory(count_on_hand=4)
    with transaction.atomic(), transaction.atomic():
        with ledger_io.pipelined(until_commit=True), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {StockItem._meta.db_table} SET count_on_hand = 40 WHERE id = %s", [item.pk])
        assert connection.connection._pipeline is None  # synced at the block's end: a savepoint may follow
    assert StockItem.objects.get(pk=item.pk).count_on_hand == 40
