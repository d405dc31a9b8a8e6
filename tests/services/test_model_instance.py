"""inventory.rawsql.instance: model instances from raw rows without Model.__init__, which must be the
instances from_db makes: loaded (not adding), on their database, deferred where a field is left out,
related objects reachable, saved as UPDATEs, and built by from_db itself when an init signal listens.
And on_postgresql, which answers `connection.vendor`'s question once per process."""

from __future__ import annotations

import pytest
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_init

from inventory.models import StockItem
from inventory.rawsql import instance
from tests.factories import StockItemFactory

pytestmark = pytest.mark.django_db


def row_of(item: StockItem) -> tuple[list[str], list]:
    names = [f.attname for f in StockItem._meta.concrete_fields]
    return names, list(StockItem.objects.filter(pk=item.pk).values_list(*names).get())


def test_the_instance_is_the_one_from_db_makes():
    names, values = row_of(StockItemFactory(count_on_hand=7))
    fast, slow = (instance(StockItem, DEFAULT_DB_ALIAS, names, values),
                  StockItem.from_db(DEFAULT_DB_ALIAS, names, values))
    assert {n: getattr(fast, n) for n in names} == {n: getattr(slow, n) for n in names}
    assert (fast._state.adding, fast._state.db) == (slow._state.adding, slow._state.db) == (False, DEFAULT_DB_ALIAS)
    assert fast.get_deferred_fields() == slow.get_deferred_fields() == set()
    assert fast.variant.pk == fast.variant_id and fast.stock_location.pk == fast.stock_location_id
    assert fast == slow and hash(fast) == hash(slow)


def test_left_out_fields_are_deferred_and_saving_updates():
    item = StockItemFactory(count_on_hand=7, reorder_point=2)
    names, values = row_of(item)
    keep = [n for n in names if n != "reorder_point"]
    loaded = instance(StockItem, DEFAULT_DB_ALIAS, keep, [v for n, v in zip(names, values, strict=True) if n in keep])
    assert loaded.get_deferred_fields() == {"reorder_point"}
    loaded.count_on_hand = 9
    loaded.save(update_fields=["count_on_hand"])
    assert StockItem.objects.count() == 1
    assert loaded.reorder_point == 2  # loaded on first read, as a deferred field is
    assert StockItem.objects.get(pk=item.pk).count_on_hand == 9


def test_a_post_init_receiver_still_sees_the_instance():
    names, values = row_of(StockItemFactory())
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=StockItem)
    try:
        made = instance(StockItem, DEFAULT_DB_ALIAS, names, values)
    finally:
        post_init.disconnect(receiver, sender=StockItem)
    assert seen == [made] and made._state.adding is False


def test_names_and_values_must_match():
    names, values = row_of(StockItemFactory())
    with pytest.raises(ValueError):
        instance(StockItem, DEFAULT_DB_ALIAS, names, values[:-1])


def test_on_postgresql_answers_for_the_database_of_the_run():
    from django.db import connection

    from inventory.rawsql import on_postgresql

    assert on_postgresql() is (connection.vendor == "postgresql")
