"""How many movements of each action an item's ledger holds (`StockItem.movement_counts`).

The Spree movements index must report an exact `total_count`. Counting a location's ledger costs time in
proportion to its movements (270k sold movements: 10 to 40 ms even from an index alone), while the same
figure summed from per-item counters costs time in proportion to its items. The counters live on the
stock item row because every writer already holds that row's lock and rewrites it: keeping them costs
no statement and no contention. `recount` checks them against the ledger and repairs them. Reading them
(and what the ledger says they should be) is `selectors.movement_counts`.
"""

from __future__ import annotations

from inventory.models import StockItem

# The fields `bump` changes, for the caller's save.
COUNTER_FIELDS = ("movement_counts", "movement_total")


def bump(item: StockItem, action: str, by: int = 1) -> None:
    """Count `by` more (or fewer) movements of `action` on `item`, in memory; the caller saves the item
    (with COUNTER_FIELDS among its fields) under the item's lock."""
    counts = dict(item.movement_counts or {})
    counts[action] = counts.get(action, 0) + by
    if counts[action] == 0:
        del counts[action]
    item.movement_counts = counts
    item.movement_total = sum(counts.values())
