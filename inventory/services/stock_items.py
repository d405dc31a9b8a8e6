"""Changing a stock item the way Spree's stock item API does: settings in place, the count only through
a movement of the difference."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from inventory.models import Action, Allocation, MovementAudit, StockItem, StockMovement
from inventory.services.errors import InsufficientStock, InvalidMovement
from inventory.services.locking import lock_item
from inventory.services.movements import apply_count_to_locked, post_movement
from inventory.services.refs import pk_of
from inventory.services.rules import MAX_QUANTITY, NO_CAUSE, Cause, NewMovement

SETTING_FIELDS = ("backorderable", "reorder_point", "max_stock_level")


def update_stock_item(
    stock_item: StockItem | int,
    *,
    user=None,
    count_on_hand: int | None = None,
    force: bool = False,
    cause: Cause = NO_CAUSE,
    **settings,
) -> StockItem:
    """Change a stock item's settings and/or its count, in one transaction.

    `count_on_hand` is a delta written as an `adjusted` movement, or with `force` the new absolute
    count, written as a `counted` movement of the difference (and `last_counted_at` stamped). A change
    that would take an item that is not backorderable below zero is refused and nothing is written,
    settings included. Errors name `count_on_hand`, the field the caller sent.
    """
    unknown = set(settings) - set(SETTING_FIELDS)
    if unknown:
        raise TypeError(f"not a stock item setting: {', '.join(sorted(unknown))}")
    if count_on_hand is not None and (isinstance(count_on_hand, bool) or not isinstance(count_on_hand, int)):
        raise InvalidMovement("count_on_hand must be a whole number.", field="count_on_hand")
    if force and count_on_hand is None:
        raise InvalidMovement("Give the count to set with force.", field="count_on_hand")
    if force and not 0 <= count_on_hand <= MAX_QUANTITY:
        raise InvalidMovement(f"A count must be from 0 to {MAX_QUANTITY}.", field="count_on_hand")
    item_id = pk_of(stock_item)
    with transaction.atomic():
        item = lock_item(item_id)
        if settings:
            for name, value in settings.items():
                setattr(item, name, value)
            item.save(update_fields=[*settings, "updated_at"])
        try:
            if force:
                apply_count_to_locked(item, count_on_hand, user=user, cause=cause,
                                      notes=f"count_on_hand set to {count_on_hand}")
            elif count_on_hand:
                post_movement(NewMovement(item, count_on_hand, Action.ADJUSTED, cause,
                                          notes=f"count_on_hand adjusted by {count_on_hand:+d}"), user=user)
        except (InsufficientStock, InvalidMovement) as exc:
            if exc.field not in ("quantity", "count_on_hand"):
                raise
            raise type(exc)(exc.message, field="count_on_hand") from exc
        return item


@transaction.atomic
def delete_stock_item(stock_item: StockItem) -> None:
    """Remove a stock item nothing was ever recorded on. One with a ledger is discarded instead, as Solidus
    does: `deleted_at` is set, the APIs no longer list or find it nor count its stock in a variant's
    totals, and its ledger stays the record of what happened."""
    item = lock_item(stock_item.pk)
    if not (
        StockMovement.objects.filter(stock_item=item).exists()
        or MovementAudit.objects.filter(stock_item=item).exists()
        or Allocation.objects.filter(stock_item=item).exists()
    ):
        item.delete()
        return
    if item.deleted_at is None:
        item.deleted_at = timezone.now()
        item.save(update_fields=["deleted_at", "updated_at"])


def restore_stock_item(stock_item: StockItem) -> None:
    """Bring a discarded stock item back (stock was recorded on it again)."""
    if stock_item.deleted_at is not None:
        StockItem.objects.filter(pk=stock_item.pk).update(deleted_at=None)
        stock_item.deleted_at = None
