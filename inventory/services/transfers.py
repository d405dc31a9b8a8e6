"""Transfers: stock and its value moved between two locations in one transaction."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import Action, StockLocation, StockTransfer, Variant
from inventory.services.catalog import ensure_stock_items
from inventory.services.errors import InvalidMovement
from inventory.services.ledger_io import transfer_lots
from inventory.services.locking import lock_all
from inventory.services.movements import post_movement
from inventory.services.refs import acting_user, pk_of
from inventory.services.rules import NO_CAUSE, Cause, NewMovement, validate_quantity


def _new_number() -> str:
    return f"T{timezone.now():%Y%m%d}-{secrets.token_hex(4).upper()}"


def transfer(
    source: StockLocation,
    destination: StockLocation,
    lines: Sequence[tuple[Variant | int, int]],
    *,
    user=None,
    reference: str = "",
    notes: str = "",
    cause: Cause = NO_CAUSE,
) -> StockTransfer:
    """Move `quantity` of each (variant, quantity) line from `source` to `destination`.

    Per line, a transferred_out movement at the source and a transferred_in movement at the
    destination that receives the batches the source gave up, at their cost. Stock items missing at
    the destination are created. All items are locked in primary-key order before anything is written,
    so two opposite transfers cannot deadlock. The source must have the stock unless backorderable.
    """
    if source.pk == destination.pk:
        raise InvalidMovement("Source and destination must be different locations.", field="destination")
    if not lines:
        raise InvalidMovement("A transfer needs at least one line.", field="lines")
    quantities: dict[int, int] = {}
    for variant, quantity in lines:
        validate_quantity(quantity, Action.TRANSFERRED_IN)
        variant_id = pk_of(variant)
        if variant_id in quantities:
            raise InvalidMovement(f"Variant {variant_id} appears on more than one line.", field="lines")
        quantities[variant_id] = quantity

    with transaction.atomic():
        source_items = ensure_stock_items(source, quantities, create=False)
        destination_items = ensure_stock_items(destination, quantities, create=True)
        locked = lock_all([i.pk for i in source_items.values()] + [i.pk for i in destination_items.values()])
        record = _create_transfer(source, destination, reference, user)
        for variant_id, quantity in quantities.items():
            out_item = locked[source_items[variant_id].pk]
            in_item = locked[destination_items[variant_id].pk]
            out_leg = post_movement(NewMovement(out_item, -quantity, Action.TRANSFERRED_OUT, cause, notes,
                                                transfer=record), user=user)
            post_movement(NewMovement(in_item, quantity, Action.TRANSFERRED_IN, cause, notes, transfer=record,
                                      source_movement=out_leg, lots=transfer_lots(out_leg.pk)), user=user)
        return record


def _create_transfer(source, destination, reference, user) -> StockTransfer:
    for _ in range(5):
        try:
            with transaction.atomic():
                return StockTransfer.objects.create(number=_new_number(), source_location=source,
                                                    destination_location=destination, reference=reference,
                                                    created_by=acting_user(user))
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a transfer number")



