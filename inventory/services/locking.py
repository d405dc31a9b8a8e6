"""Row locks on stock items, always taken in primary-key order so that two transactions touching the
same items cannot deadlock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

import psycopg.errors
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, transaction

from inventory.models import CostLayer, Product, StockItem, StockLocation, StockMovement, Variant
from inventory.rawsql import ModelReader, array_literal, on_postgresql, placeholders, q, table
from inventory.services.valuation import Layer


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
    found = {}
    with connection.cursor() as cursor:
        if on_postgresql():  # one array: the same statement for any number of items
            cursor.execute(sql.format(ids="= ANY(%s::bigint[])"), [array_literal(ids)])
        else:
            cursor.execute(sql.format(ids=f"IN ({placeholders(len(ids))})"), ids)
        for row in cursor.fetchall():
            item, _ = take_item(readers, row)
            found[item.pk] = item
    return found


def take_item(readers: list[ModelReader], row) -> tuple[StockItem, tuple]:
    """The item of a lock statement's row, with its variant, location (and product, with a fourth reader),
    and the row's columns after theirs."""
    item_reader, variant_reader, location_reader, *product_reader = readers
    conn = connections[DEFAULT_DB_ALIAS]
    item, row = item_reader.take(row, conn)
    item.variant, row = variant_reader.take(row, conn)
    item.stock_location, row = location_reader.take(row, conn)
    if product_reader:
        item.variant.product, row = product_reader[0].take(row, conn)
    return item, row


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
           f" WHERE i.id {{ids}} ORDER BY i.id{lock}")
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


@dataclass
class ReadWithLock:
    """What the statement that locked an item read after the lock, for the movement about to be appended: ids
    drawn from the movement and layer sequences (so that they grow with the item's ledger), and the oldest open
    layers the movement draws on, batches or `shortfalls` (`open_layers[item id]`, at most `asked`; fewer:
    there are no more). An item not in `open_layers` had none of its layers read."""

    movement_ids: list[int] = field(default_factory=list)
    layer_ids: list[int] = field(default_factory=list)
    open_layers: dict[int, list[Layer]] = field(default_factory=dict)
    shortfalls: bool = False
    asked: int = 0


@dataclass
class AppendLock:
    """A locked item (with variant, location and product) and what its append needs beside it: what was read
    with the lock, and the stock of its variant's other items (Spree's `total_on_hand` of the response)."""

    item: StockItem
    read: ReadWithLock
    others_on_hand: int | None = None  # None: not read (SQLite)
    others_backorderable: bool = False


def lock_item_for_append(item_id: int, *, inbound: bool, open_layers: int) -> AppendLock:
    """`lock_item(item_id, with_product=True)` for one movement about to be appended: on PostgreSQL the same
    statement also draws the movement's id (and a cost layer's, `inbound`), reads up to `open_layers` of the
    layers it will draw on (batches going out of stock, shortfalls coming into an item that is short) and sums
    the variant's stock at its other locations: four round trips in one, three of them under the lock.

    The ids are drawn after the row is locked (the locked row is a MATERIALIZED step the draw reads from), so
    an item's movement ids still grow with its ledger. The layers are read by a function with a snapshot of
    its own, taken once the lock is granted (migration 0014): the statement's snapshot may predate a writer
    that held the lock. The other items' stock is read from the statement's snapshot: a read, not a part of
    what the lock protects."""
    db = transaction.get_connection()
    assert db.in_atomic_block, "lock_item_for_append needs a transaction"
    if not on_postgresql():
        return AppendLock(lock_item(item_id, with_product=True), ReadWithLock())
    readers, sql = _append_lock_statement(inbound)
    with db.cursor() as cursor:
        cursor.execute(sql, [item_id, open_layers])
        row = cursor.fetchone()
    if row is None:
        raise StockItem.DoesNotExist(f"stock item {item_id} does not exist")
    item, row = take_item(readers, row)
    movement_id, layer_id, others_on_hand, others_backorderable, *layer_columns = row
    # As the statement chose: shortfalls into an item that is short, batches out of an item with stock.
    was_read = item.count_on_hand < 0 if inbound else item.count_on_hand > 0
    layers = {item.pk: [Layer(*c) for c in zip(*layer_columns, strict=True)] if layer_columns[0] else []
              } if was_read else {}
    read = ReadWithLock([movement_id], [layer_id] if layer_id else [], layers, inbound, open_layers)
    return AppendLock(item, read, others_on_hand, others_backorderable)


# What `inventory_open_layers` returns of a layer (migration 0014), in `valuation.Layer`'s order.
LAYER_COLUMNS = ("layer_id", "layer_movement_id", "layer_unit_cost", "layer_received", "layer_remaining")


@cache
def rendered_item_readers() -> list[ModelReader]:
    """Readers of the item `i`, its variant `v`, location `l` and product `p` (joined by RENDERED_ITEM_JOINS):
    what the APIs render a new movement from."""
    return [ModelReader(model, alias) for model, alias in
            ((StockItem, "i"), (Variant, "v"), (StockLocation, "l"), (Product, "p"))]


RENDERED_ITEM_JOINS = (f"JOIN {table(Variant)} v ON v.id = i.variant_id"
                       f" JOIN {table(StockLocation)} l ON l.id = i.stock_location_id"
                       f" JOIN {table(Product)} p ON p.id = v.product_id")


def stock_elsewhere() -> tuple[str, str]:
    """SQL of the stock of item `i`'s variant at its other (live) locations, and whether any is backorderable:
    Spree's `total_on_hand` and `is_backorderable` of the response, read from the statement's snapshot."""
    others = f"FROM {table(StockItem)} o WHERE o.variant_id = i.variant_id AND o.id <> i.id AND o.deleted_at IS NULL"
    return f"(SELECT COALESCE(SUM(o.count_on_hand), 0) {others})", f"EXISTS (SELECT 1 {others} AND o.backorderable)"


@cache
def _append_lock_statement(inbound: bool) -> tuple[list[ModelReader], str]:
    readers = rendered_item_readers()
    item_columns = ", ".join(q(f.column) for f in StockItem._meta.concrete_fields)
    draw = "nextval(pg_get_serial_sequence('{}', 'id'))"
    layer_id = draw.format(CostLayer._meta.db_table) if inbound else "NULL::bigint"
    # Inbound: the shortfalls of an item that is short; outbound: the batches of an item with stock.
    has_layers = "i.count_on_hand < 0" if inbound else "i.count_on_hand > 0"
    on_hand_elsewhere, backorderable_elsewhere = stock_elsewhere()
    sql = (
        f"WITH i AS MATERIALIZED (SELECT {item_columns} FROM {table(StockItem)} WHERE id = %s FOR UPDATE),"
        f" n AS MATERIALIZED (SELECT {draw.format(StockMovement._meta.db_table)} AS movement_id,"
        f" {layer_id} AS layer_id, {on_hand_elsewhere} AS others_on_hand,"
        f" {backorderable_elsewhere} AS others_backorderable FROM i)"
        f" SELECT {', '.join(r.columns for r in readers)}, n.movement_id, n.layer_id, n.others_on_hand,"
        f" n.others_backorderable, {', '.join(f'f.{c}' for c in LAYER_COLUMNS)}"
        f" FROM i CROSS JOIN n {RENDERED_ITEM_JOINS}"
        # One row, the layers' columns as arrays: the item's columns are loaded once, not once per layer.
        f" CROSS JOIN LATERAL (SELECT {', '.join(f'array_agg({c} ORDER BY layer_id) AS {c}' for c in LAYER_COLUMNS)}"
        f" FROM inventory_open_layers(i.id, {'true' if inbound else 'false'},"
        f" CASE WHEN {has_layers} THEN %s ELSE 0 END)) f")
    return readers, sql


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
