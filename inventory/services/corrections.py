"""Editing and deleting movements: the item's ledger is reposted from the first movement the change
affects (`services.repost`), and the change audited (who, when, before, after)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from inventory.models import MovementAudit, StockItem, StockMovement
from inventory.services.errors import InvalidMovement, MovementLocked
from inventory.services.locking import lock_item_and_transfer_peers
from inventory.services.movement_counts import COUNTER_FIELDS, bump
from inventory.services.refs import acting_user, pk_of
from inventory.services.repost import repost_limit, repost_with_dependents
from inventory.services.rules import Cause, validate_movement_date, validate_quantity, validate_unit_cost

EDITABLE_FIELDS = ("quantity", "movement_date", "value_per_unit", "notes", "resource_type", "resource_id",
                   "caused_by_order_no", "caused_by_resource_id")


def snapshot(movement: StockMovement) -> dict:
    """The audit's view of a movement: its editable fields and running figures, JSON-ready."""
    data = {name: getattr(movement, name) for name in (*EDITABLE_FIELDS, "action", "balance_after", "rank")}
    data["movement_date"] = movement.movement_date.isoformat()
    data["value_per_unit"] = str(movement.value_per_unit)
    return data


def _lock_movement(movement: StockMovement | int) -> tuple[StockItem, StockMovement]:
    movement_id = pk_of(movement)
    item_id = StockMovement.objects.values_list("stock_item_id", flat=True).get(pk=movement_id)
    item = lock_item_and_transfer_peers(item_id)  # the edit reposts the item, maybe through its transfers
    locked = StockMovement.objects.select_related("figures").get(pk=movement_id)  # re-read under the item lock
    if locked.transfer_id:
        raise MovementLocked("This movement is one leg of a transfer; reverse the transfer instead.")
    if hasattr(locked, "allocation"):
        raise MovementLocked("This movement fulfilled an allocation and can't be changed.")
    return item, locked


def update_movement(
    movement: StockMovement | int,
    *,
    user=None,
    quantity: int | None = None,
    movement_date: datetime | None = None,
    value_per_unit: Decimal | str | None = None,
    notes: str | None = None,
    cause: Cause | None = None,
) -> StockMovement:
    """Edit a movement; the item's ledger is reposted from the earlier of its old and new positions."""
    with transaction.atomic():
        item, locked = _lock_movement(movement)
        before = snapshot(locked)
        old_key = (locked.movement_date, locked.pk)
        if quantity is not None:
            validate_quantity(quantity, locked.action)
            locked.quantity = quantity
        if movement_date is not None:
            locked.movement_date = validate_movement_date(movement_date)
        if value_per_unit is not None:
            if locked.quantity < 0:
                raise InvalidMovement("Outbound movements are costed from stock; their unit cost can't be set.",
                                      field="value_per_unit")
            locked.value_per_unit = validate_unit_cost(value_per_unit)
            locked.unit_cost_fixed = True
        if notes is not None:
            locked.notes = notes
        if cause is not None:
            for name, value in cause.as_fields().items():
                setattr(locked, name, value)
        locked.save()
        # The repost reads a fixed unit cost from the figures, and rewrites only figures that change: the
        # edited movement's updated_at moves whatever it changed.
        locked.updated_at = timezone.now()
        locked.figures.save(update_fields=["value_per_unit", "updated_at"])
        start = min(old_key, (locked.movement_date, locked.pk))
        repost_with_dependents(item, start, check_from=start, limit=repost_limit())
        locked.refresh_from_db()
        MovementAudit.objects.create(movement=locked, movement_ref=locked.pk, stock_item=item,
                                     operation=MovementAudit.Operation.UPDATE, user=acting_user(user),
                                     before=before, after=snapshot(locked))
        return locked


def delete_movement(movement: StockMovement | int, *, user=None) -> None:
    """Delete a movement; the item's ledger is reposted from where it stood, and the deletion audited."""
    with transaction.atomic():
        item, locked = _lock_movement(movement)
        key = (locked.movement_date, locked.pk)
        MovementAudit.objects.create(movement=None, movement_ref=locked.pk, stock_item=item,
                                     operation=MovementAudit.Operation.DELETE, user=acting_user(user),
                                     before=snapshot(locked), after=None)
        MovementAudit.objects.filter(movement_ref=locked.pk).update(movement=None)
        bump(item, locked.action, -1)
        item.save(update_fields=list(COUNTER_FIELDS))
        repost_with_dependents(item, key, check_from=key, remove=locked, limit=repost_limit())
