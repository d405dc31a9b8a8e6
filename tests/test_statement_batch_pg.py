"""An append's writes go to PostgreSQL as one statement (services/statement_batch.py): the movement, its
figures, the layer it opens or the layers it draws on, its consumptions and the item, each a part of one
INSERT/UPDATE with data-modifying WITHs. What that must keep: every row written as before (the property
tests compare whole ledgers), nothing sent when the block fails, and blocks inside blocks joining the outer."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from inventory import services
from inventory.models import CostLayer, LayerConsumption, MovementFigures, StockItem, StockMovement
from inventory.services.statement_batch import as_one_statement, execute_write, execute_writes
from tests.conftest import requires_postgres
from tests.factories import StockItemFactory
from tests.pgtrace import frontend_messages

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

ITEMS = StockItem._meta.db_table


def executed_after_the_lock(sent: list[str]) -> list[str]:
    """The statements executed after the item's lock (its answer waited for with a Flush)."""
    flush = next(n for n, line in enumerate(sent) if "\tFlush" in line)
    return [line for line in sent[flush:] if "\tParse\t" in line or "\tQuery\t" in line or "\tBind\t" in line]


@pytest.mark.parametrize(("before", "quantity", "statements"), [(-3, -4, 3), (-3, 18, 2)],
                         ids=["sale into a shortfall", "receipt settling a shortfall and opening a layer"])
def test_a_movement_writes_with_one_statement_then_commits(before, quantity, statements):
    # Movements the service values itself (PostgreSQL appends the simpler ones alone: services/sql_append.py).
    item = StockItemFactory(backorderable=True)
    services.receive(item.pk, 10)
    services.sell(item.pk, 10 - before)
    action = services.sell if quantity < 0 else services.receive
    sent = frontend_messages(lambda: action(item.pk, abs(quantity)))
    binds = [line for line in executed_after_the_lock(sent) if "\tBind\t" in line]
    # The writes, then COMMIT (was: one statement for each table, then COMMIT); before them the id of a shortfall
    # opened by a sale, which the lock statement does not draw.
    assert len(binds) == statements, sent
    item = StockItem.objects.get(pk=item.pk)
    assert item.count_on_hand == before + quantity
    newest = StockMovement.objects.filter(stock_item=item).latest("id")
    assert MovementFigures.objects.get(movement=newest).balance_after == item.count_on_hand
    layers = CostLayer.objects.filter(stock_item=item).values_list("quantity_remaining", flat=True)
    assert sum(layers) == before + quantity
    assert LayerConsumption.objects.filter(movement=newest).count() == 1  # of the shortfall


def test_writes_are_kept_until_the_block_ends_then_sent_as_one():
    a, b, c, d = (StockItemFactory(count_on_hand=n) for n in (1, 2, 3, 4))

    def block():
        with transaction.atomic(), as_one_statement():
            execute_write(f"UPDATE {ITEMS} SET count_on_hand = %s WHERE id = %s", [10, a.pk])
            # One part per row (an executemany outside a block); no row is written by two parts.
            execute_writes(f"UPDATE {ITEMS} SET count_on_hand = %s WHERE id = %s", [(30, c.pk), (40, d.pk)])
            with as_one_statement():  # joins the outer block
                execute_write(f"UPDATE {ITEMS} SET count_on_hand = %s WHERE id = %s", [20, b.pk])
            with connection.cursor() as cursor:  # nothing sent yet
                cursor.execute(f"SELECT count_on_hand FROM {ITEMS} WHERE id = %s", [a.pk])
                assert cursor.fetchone() == (1,)

    sent = frontend_messages(block)
    assert len([line for line in sent if "UPDATE" in line]) == 1, sent
    rows = dict(StockItem.objects.filter(pk__in=[a.pk, b.pk, c.pk, d.pk]).values_list("pk", "count_on_hand"))
    assert rows == {a.pk: 10, b.pk: 20, c.pk: 30, d.pk: 40}


def test_a_block_that_raises_sends_nothing():
    item = StockItemFactory(count_on_hand=4)
    sent = []

    def failing_block():
        with pytest.raises(RuntimeError), as_one_statement():
            execute_write(f"UPDATE {ITEMS} SET count_on_hand = 40 WHERE id = %s", [item.pk])
            raise RuntimeError("before the end of the block")

    sent = frontend_messages(failing_block)
    assert not [line for line in sent if "UPDATE" in line], sent
    assert StockItem.objects.get(pk=item.pk).count_on_hand == 4
    execute_write(f"UPDATE {ITEMS} SET count_on_hand = 41 WHERE id = %s", [item.pk])  # outside a block: at once
    assert StockItem.objects.get(pk=item.pk).count_on_hand == 41
    assert connection.connection is not None
