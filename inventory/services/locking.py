"""Row locks on stock items, always taken in primary-key order so that two transactions touching the
same items cannot deadlock."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from inventory.models import StockItem


def lock_items(item_ids: Iterable[int], *, with_product: bool = False) -> dict[int, StockItem]:
    """Lock the given stock items (SELECT ... FOR UPDATE, pk order) and return them fresh, by id, with
    their variant and location (and the variant's product `with_product`, for a caller that renders
    the new movement from the locked item instead of reading it again).

    Must run inside a transaction. On SQLite, which has no row locks, the IMMEDIATE transaction mode
    set in settings serialises writers instead.
    """
    assert transaction.get_connection().in_atomic_block, "lock_items needs a transaction"
    ids = sorted(set(item_ids))
    items = (
        StockItem.objects.select_for_update(of=("self",))
        .select_related("variant__product" if with_product else "variant", "stock_location")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    return {item.pk: item for item in items}


def lock_item(item_id: int, *, with_product: bool = False) -> StockItem:
    items = lock_items([item_id], with_product=with_product)
    if item_id not in items:
        raise StockItem.DoesNotExist(f"stock item {item_id} does not exist")
    return items[item_id]


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
    return lock_items([item_id, *peers], with_product=with_product)[item_id]
