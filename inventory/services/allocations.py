"""Allocations (reservations): stock held for an order until it ships or the order lets it go.

An allocation changes `quantity_allocated` only; `count_on_hand` moves when it is fulfilled, as a `sold`
movement. Every function is one transaction that locks the stock item row first, the same discipline as
`movements`, so concurrent allocations of one item are serialised and can never reserve more than is
available (on PostgreSQL the row lock, on SQLite the IMMEDIATE write lock).
"""

from __future__ import annotations

from django.db import transaction

from inventory.models import Action, Allocation, StockItem
from inventory.services.errors import AllocationError, InsufficientStock
from inventory.services.locking import lock_item
from inventory.services.movements import post_movement
from inventory.services.refs import acting_user, pk_of
from inventory.services.rules import MAX_BALANCE, MAX_QUANTITY, Cause, NewMovement

REFERENCE_MAX_LENGTH = 64


def _validate_quantity(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise AllocationError("Quantity must be a positive whole number.")
    if quantity > MAX_QUANTITY:
        raise AllocationError(f"Quantity must be at most {MAX_QUANTITY}.")


def _validate_reference(name: str, value) -> str:
    value = "" if value is None else str(value)
    if len(value) > REFERENCE_MAX_LENGTH:
        raise AllocationError(f"{name} must be at most {REFERENCE_MAX_LENGTH} characters.", field=name)
    return value


def allocate(
    stock_item: StockItem | int,
    quantity: int,
    *,
    user=None,
    reference_type: str = "",
    reference_id: str = "",
) -> Allocation:
    """Reserve `quantity` units of a stock item. Refused (InsufficientStock) when more than the available
    quantity (on hand less already allocated) is asked for, unless the item is backorderable."""
    _validate_quantity(quantity)
    reference_type = _validate_reference("reference_type", reference_type)
    reference_id = _validate_reference("reference_id", reference_id)
    with transaction.atomic():
        item = lock_item(pk_of(stock_item))
        available = item.count_on_hand - item.quantity_allocated
        if quantity > available and not item.backorderable:
            raise InsufficientStock(
                f"Only {max(available, 0)} of {item.variant.sku} available at {item.stock_location.code} "
                f"({item.count_on_hand} on hand, {item.quantity_allocated} allocated); "
                f"the item is not backorderable."
            )
        if item.quantity_allocated + quantity > MAX_BALANCE:
            raise AllocationError(f"At most {MAX_BALANCE} units of a stock item may be allocated at once; "
                                  f"{item.quantity_allocated} are.")
        allocation = Allocation.objects.create(stock_item=item, quantity=quantity, reference_type=reference_type,
                                               reference_id=reference_id, created_by=acting_user(user))
        item.quantity_allocated += quantity
        item.save(update_fields=["quantity_allocated", "updated_at"])
        allocation.stock_item = item
        return allocation


def _lock_allocation(allocation: Allocation | int) -> tuple[StockItem, Allocation]:
    """Lock the allocation's stock item, then re-read the allocation under that lock: every change to an
    allocation holds its item's lock, so the status read here cannot change until we commit."""
    allocation_id = pk_of(allocation)
    item_id = Allocation.objects.values_list("stock_item_id", flat=True).get(pk=allocation_id)
    item = lock_item(item_id)
    locked = Allocation.objects.get(pk=allocation_id)
    locked.stock_item = item
    if locked.status != Allocation.Status.ALLOCATED:
        raise AllocationError(f"Allocation {locked.pk} is {locked.status}; only an allocated one can change.",
                              field="status")
    return item, locked


def release(allocation: Allocation | int, *, user=None) -> Allocation:
    """Give reserved stock back: the allocation becomes `released` and `quantity_allocated` drops."""
    with transaction.atomic():
        item, locked = _lock_allocation(allocation)
        item.quantity_allocated -= locked.quantity
        item.save(update_fields=["quantity_allocated", "updated_at"])
        locked.status = Allocation.Status.RELEASED
        locked.save(update_fields=["status", "updated_at"])
        return locked


def fulfil(allocation: Allocation | int, *, user=None) -> Allocation:
    """Ship the reserved stock: a `sold` movement of the allocated quantity, caused by the allocation's
    reference. Refused (and nothing written) if a non-backorderable item no longer has the stock on hand."""
    with transaction.atomic():
        item, locked = _lock_allocation(allocation)
        movement = post_movement(NewMovement(
            item,
            -locked.quantity,
            Action.SOLD,
            cause=Cause(resource_type=locked.reference_type, resource_id=locked.reference_id),
            notes=f"Fulfils allocation {locked.pk}",
        ), user=user)
        item.quantity_allocated -= locked.quantity
        item.save(update_fields=["quantity_allocated", "updated_at"])
        locked.status = Allocation.Status.FULFILLED
        locked.fulfilment_movement = movement
        locked.save(update_fields=["status", "fulfilment_movement", "updated_at"])
        return locked
