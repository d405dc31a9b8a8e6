"""Reading the per-item movement counters (`StockItem.movement_counts`, kept by `services.movement_counts`):
an exact count of a location's movements from its items' counters, which searches it can answer, and what
the ledger says the counters should be (for `recount`)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, IntegerField, Sum, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from inventory.models import Action, StockItem, StockMovement


def ledger_counts(item_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """The counters as the ledger says they should be, for the given items (items without movements: {})."""
    counts: dict[int, dict[str, int]] = {pk: {} for pk in item_ids}
    rows = (StockMovement.objects.filter(stock_item_id__in=list(counts)).order_by()
            .values_list("stock_item_id", "action").annotate(n=Count("id")))
    for item_id, action, n in rows:
        counts[item_id][action] = n
    return counts


def movements_at(location_id: int, actions: Iterable[str] | None = None) -> int:
    """The number of movements at a location, of the given actions (None: all), from the counters."""
    wanted = sorted(Action.values if actions is None else set(actions) & set(Action.values))
    if not wanted:
        return 0
    items = StockItem.objects.filter(stock_location_id=location_id)
    if len(wanted) == len(Action.values):
        return items.aggregate(n=Sum("movement_total"))["n"] or 0
    total = sum(
        (Coalesce(Cast(KT(f"movement_counts__{action}"), IntegerField()), 0) for action in wanted),
        start=Value(0),
    )
    result = items.aggregate(n=Sum(total))
    return result["n"] or 0


def actions_searched(terms: Iterable[tuple[str, str, object]]) -> set[str] | None:
    """The actions a search's conditions select, when they test nothing but the action (so the counters
    give its exact count); None when any condition tests something else."""
    actions = set(Action.values)
    for name, predicate, value in terms:
        if name != "action":
            return None
        if predicate == "eq":
            actions &= {value}
        elif predicate == "in":
            actions &= set(value)
        elif predicate == "not_eq":
            actions -= {value}
        elif predicate == "not_in":
            actions -= set(value)
        else:
            return None
    return actions
