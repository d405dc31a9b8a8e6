"""The reference full rebuild: an item's valuation replayed from nothing over its whole ledger.

Not used by any request: corrections repost only their tail (`services.repost`). This is the simple,
obviously complete version the tail repost is tested against (tests/test_property.py: after every
correction a full rebuild must change nothing) and benchmarked beside (bench/deep_item.py). It loads the
whole ledger as model instances, deletes every cost layer and consumption of the item and recreates them.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from inventory.models import Action, CostLayer, LayerConsumption, StockItem, StockMovement
from inventory.rawsql import table
from inventory.services import ledger_io as io
from inventory.services.locking import lock_items
from inventory.services.valuation import ITEM_FIGURES, ZERO, ItemValuation

MAX_ROUNDS = 50


def rebuild_item(item: StockItem) -> set[int]:
    """Rebuild rank, running figures, layers and consumptions of a locked item from its whole ledger.
    Returns the items whose transferred_in legs take their cost from a transfer out of this one whose
    batches changed."""
    movements = list(item.movements.select_related("figures").order_by("movement_date", "id"))
    stored = {m.pk: tuple(getattr(m.figures, name) for name in io.MOVEMENT_FIGURES) for m in movements}
    lots_by_source = io.lots_by_source(m.source_movement_id for m in movements if m.source_movement_id)
    outbound = [m.pk for m in movements if m.action == Action.TRANSFERRED_OUT]
    lots_before = io.lots_by_source(outbound)

    LayerConsumption.objects.filter(Q(layer__stock_item=item) | Q(movement__stock_item=item)).delete()
    # In SQL: Django's delete would first collect every layer's id (a million ids is past the driver's limit
    # on parameters) to cascade to consumptions, which are gone already.
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table(CostLayer)} WHERE stock_item_id = %s", [item.pk])

    state = ItemValuation.at(item, balance=0, value=ZERO, average=ZERO, batches=None, shortfalls=None)
    for rank, movement in enumerate(movements, start=1):
        movement.rank = rank
        lots = lots_by_source.get(movement.source_movement_id) if movement.source_movement_id else None
        if movement.quantity > 0 and lots is None and not movement.unit_cost_fixed:
            movement.value_per_unit = state.average
        state.apply(movement, lots)

    now = io.prepared_datetime(timezone.now())
    changed = [(*_figures(m), now, m.pk) for m in movements if _figures(m) != stored[m.pk]]
    io.write_figures(changed)
    io.insert_layers([(item.pk, layer) for layer in state.posting.new_layers], timezone.now())
    io.insert_consumptions(state.posting.consumptions)
    state.store_on_item()
    item.last_movement_at = movements[-1].movement_date if movements else None
    item.save(update_fields=ITEM_FIGURES)

    lots_after = io.lots_by_source(outbound)
    moved = [pk for pk in outbound if lots_after.get(pk) != lots_before.get(pk)]
    return set(StockMovement.objects.filter(source_movement_id__in=moved).values_list("stock_item_id", flat=True))


def rebuild_with_dependents(item: StockItem) -> None:
    """`rebuild_item`, then rebuild every item downstream of a transfer whose cost changed."""
    pending = rebuild_item(item)
    for _ in range(MAX_ROUNDS):
        if not pending:
            return
        locked = lock_items(pending)
        pending = set()
        for pk in sorted(locked):
            pending |= rebuild_item(locked[pk])
    raise RuntimeError("transfer cost rebuilding did not converge")


def _figures(movement: StockMovement) -> tuple:
    """What MovementFigures must store for the movement (its `quantity` is the movement's own)."""
    return (movement.quantity, *(getattr(movement.figures, name) for name in io.MOVEMENT_FIGURES[1:]))
