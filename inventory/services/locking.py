"""Row locks on stock items, always taken in primary-key order so that two transactions touching the
same items cannot deadlock."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import psycopg.errors
from django.db import OperationalError, connection, transaction

from inventory.models import Product, StockItem, StockLocation, Variant
from inventory.rawsql import ModelReader, placeholders, table


def lock_items(item_ids: Iterable[int], *, with_product: bool = False) -> dict[int, StockItem]:
    """Lock the given stock items (SELECT ... FOR UPDATE, pk order) and return them fresh, by id, with
    their variant and location (and the variant's product `with_product`, for a caller that renders
    the new movement from the locked item instead of reading it again).

    Must run inside a transaction. On SQLite, which has no row locks, the IMMEDIATE transaction mode
    set in settings serialises writers instead. The statement is written here, not built by the ORM: every
    write starts with it, and compiling a select_related query costs more Python than the write itself.
    """
    assert transaction.get_connection().in_atomic_block, "lock_items needs a transaction"
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    readers, sql = _lock_statement(with_product)
    item_reader, variant_reader, location_reader, *product_reader = readers
    found = {}
    with connection.cursor() as cursor:
        cursor.execute(sql.format(ids=placeholders(len(ids))), ids)
        for row in cursor.fetchall():
            item, row = item_reader.take(row)
            item.variant, row = variant_reader.take(row)
            item.stock_location, row = location_reader.take(row)
            if product_reader:
                item.variant.product, row = product_reader[0].take(row)
            found[item.pk] = item
    return found


@cache
def _lock_statement(with_product: bool) -> tuple[list[ModelReader], str]:
    models = [StockItem, Variant, StockLocation, *([Product] if with_product else [])]
    readers = [ModelReader(model, alias) for model, alias in zip(models, "ivlp", strict=False)]
    joins = [f"JOIN {table(Variant)} v ON v.id = i.variant_id",
             f"JOIN {table(StockLocation)} l ON l.id = i.stock_location_id"]
    if with_product:
        joins.append(f"JOIN {table(Product)} p ON p.id = v.product_id")
    lock = " FOR UPDATE OF i" if connection.features.has_select_for_update_of else ""
    sql = (f"SELECT {', '.join(r.columns for r in readers)} FROM {table(StockItem)} i {' '.join(joins)}"
           f" WHERE i.id IN ({{ids}}) ORDER BY i.id{lock}")
    return readers, sql


def lock_all(item_ids: Iterable[int], *, with_product: bool = False) -> dict[int, StockItem]:
    """`lock_items`, for ids read before the lock: StockItem.DoesNotExist (a 404) if one of them was deleted
    meanwhile (an empty item, or the location it was at), instead of a missing key later."""
    ids = set(item_ids)
    items = lock_items(ids, with_product=with_product)
    if missing := ids - items.keys():
        raise StockItem.DoesNotExist(f"stock item {min(missing)} does not exist")
    return items


def lock_item(item_id: int, *, with_product: bool = False) -> StockItem:
    return lock_all([item_id], with_product=with_product)[item_id]


def lock_item_and_transfer_peers(item_id: int, *, with_product: bool = False) -> StockItem:
    """Lock a stock item together with every other stock item of its variant (all in pk order).

    For writes that repost the item's ledger (backdated, edited or deleted movements): the repost flows
    through the item's transfers to the variant's items at other locations and must lock them too.
    Taking those locks only later, after the item's, would deadlock against a transfer that locks the
    same two items in pk order; so they are all taken up front. Transfers only ever join items of one
    variant, which keeps this set as small as the number of locations.
    """
    variant_id = StockItem.objects.values_list("variant_id", flat=True).get(pk=item_id)
    peers = StockItem.objects.filter(variant_id=variant_id).values_list("pk", flat=True)
    items = lock_items([item_id, *peers], with_product=with_product)
    if item_id not in items:  # deleted since its variant was read
        raise StockItem.DoesNotExist(f"stock item {item_id} does not exist")
    return items[item_id]


def hold_locations(location_ids: Iterable[int]) -> set[int]:
    """Keep these stock locations from being deleted until this transaction ends; the ids that (still) exist.

    Taken before creating stock items at a location: a foreign key to it is only checked at commit, so a
    location deleted meanwhile would surface as an IntegrityError then. FOR KEY SHARE (pk order) does not block
    other writers, only `delete_location`'s lock, which fails fast while one is held (409); a deletion that got
    there first is waited for, and the location then found gone. No-op lock on SQLite (writers serialised).
    """
    ids = sorted(set(location_ids))
    if not ids:
        return set()
    lock = " FOR KEY SHARE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table(StockLocation)} WHERE id IN ({placeholders(len(ids))})"
                       f" ORDER BY id{lock}", ids)
        return {row[0] for row in cursor.fetchall()}


def is_lock_not_available(exc: OperationalError) -> bool:
    """Whether a database error is PostgreSQL's 'lock not available' (NOWAIT, or lock_timeout expired)."""
    return isinstance(exc.__cause__, psycopg.errors.LockNotAvailable)
