"""Recount: check the cached stock figures against the movement ledger, and optionally repair them.

Detection is read-only SQL (`inventory.selectors.recount_checks`): a checksum pass over every item, then
the exact pass over the items it flags (over all of them with `deep`). Each pass reads from one snapshot
(REPEATABLE READ on PostgreSQL), so a concurrent writer cannot make a consistent item look drifted; the
exact pass works in chunks of `CHUNK_SIZE` items, so memory stays flat however long the ledger is.

`fix=True` repairs only the items found drifted, with the engine every correction uses: it locks them
(with their variant's other items, in pk order, as every writer does), checks them again under the lock,
rewrites the movement counters and locations from the ledger, and reposts each item from its first wrong
movement (`services.repost`): from the first row whose figures are wrong or whose transfer cost is stale,
from its newest movement when only the item's cached figures are wrong, and from its first movement when
its cost layers are. Items that pass every check are not written at all, so a recount of a consistent
ledger changes nothing and a full `--fix` costs no more than a check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count

from inventory.models import StockItem, StockLocation, StockMovement
from inventory.rawsql import on_postgresql
from inventory.selectors.movement_counts import ledger_counts
from inventory.selectors.recount_checks import Drift, checksum_failures, exact_drifts, key_at_rank
from inventory.services.errors import StockError
from inventory.services.locking import lock_items
from inventory.services.movement_counts import COUNTER_FIELDS
from inventory.services.repost import LEDGER_START, Key, repost_with_dependents

CHUNK_SIZE = 500
# Drifted items are repaired this many per transaction, so writers never wait long on their locks.
REPAIR_BATCH = 50

Progress = Callable[[str, int, int], None]

__all__ = ["Drift", "RecountReport", "UnknownLocation", "recount"]


class UnknownLocation(StockError):
    field = "location"
    code = "unknown_location"


@dataclass
class RecountReport:
    drifts: list[Drift] = field(default_factory=list)
    fixed: bool = False
    items_checked: int = 0
    locations: list[str] = field(default_factory=list)
    # Items the checksum pass flagged and the exact pass re-checked (all items checked under `deep`).
    suspects: int = 0


def recount(
    *,
    location_code: str | None = None,
    item_ids: list[int] | None = None,
    fix: bool = False,
    dry_run: bool = False,
    deep: bool = False,
    progress: Progress | None = None,
) -> RecountReport:
    """Check (and with `fix`, repair) the stock items of one location or all, optionally only `item_ids`.

    By default every item goes through the checksum pass and only the items it flags through the exact
    pass; `deep` runs the exact pass on every item. `dry_run` detects and reports and never writes, even
    with `fix`. `progress(location_code, done, total)` is called when a location starts and after each
    chunk of its exact pass. Raises UnknownLocation for a code that does not exist.
    """
    locations = StockLocation.objects.order_by("code")
    if location_code is not None:
        locations = locations.filter(code=location_code)
        if not locations.exists():
            raise UnknownLocation(f"There is no stock location with code '{location_code}'.")
    repair = fix and not dry_run
    report = RecountReport(fixed=repair)
    suspects = None
    if not deep:
        location_id = locations.values_list("pk", flat=True).first() if location_code is not None else None
        suspects = _suspects(location_id=location_id, item_ids=item_ids)
    in_scope = StockItem.objects.all() if item_ids is None else StockItem.objects.filter(pk__in=item_ids)
    totals = dict(in_scope.values("stock_location").annotate(n=Count("pk")).values_list("stock_location", "n"))
    for location in locations.only("pk", "code"):
        items = in_scope.filter(stock_location=location)
        total = totals.get(location.pk, 0)
        if not total and item_ids is not None:
            continue
        report.locations.append(location.code)
        if progress:
            progress(location.code, 0, total)
        if suspects is None:
            chunks = _chunks(items)
        else:
            flagged = suspects.get(location.pk, [])
            chunks = (flagged[start:start + CHUNK_SIZE] for start in range(0, len(flagged), CHUNK_SIZE))
        done = 0
        for chunk in chunks:
            with _snapshot():
                drifts = exact_drifts(chunk, location.code)
            if drifts and repair:
                ids = [d.item_id for d in drifts]
                drifts = []
                for start in range(0, len(ids), REPAIR_BATCH):
                    drifts.extend(_repair(ids[start:start + REPAIR_BATCH], location.code))
            report.drifts.extend(drifts)
            report.suspects += len(chunk)
            done += len(chunk)
            if progress and done < total:
                progress(location.code, done, total)
        report.items_checked += total
        if progress:
            progress(location.code, total, total)
    return report


def _chunks(items) -> Iterator[list[int]]:
    """Item ids in pk order, CHUNK_SIZE at a time (keyset pagination: no OFFSET, no id list in memory)."""
    last = 0
    while True:
        chunk = list(items.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:CHUNK_SIZE])
        if not chunk:
            return
        yield chunk
        last = chunk[-1]


@contextmanager
def _snapshot():
    """A transaction whose statements all see the same data. On PostgreSQL (read committed by default)
    that needs REPEATABLE READ, which can only be asked for when this is the outermost transaction."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and on_postgresql():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _suspects(*, location_id: int | None, item_ids: list[int] | None) -> dict[int, list[int]]:
    """The ids of the items failing a checksum, by location id, in pk order."""
    found: dict[int, list[int]] = {}
    with _snapshot():
        if on_postgresql():
            # The statement is costed high enough to be JIT-compiled, and compiling it takes longer
            # (about 0.3 s) than the compiled code saves on a million rows.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        if item_ids is None:
            rows = list(checksum_failures(location_id=location_id))
        else:
            rows = [row for start in range(0, len(item_ids), CHUNK_SIZE)
                    for row in checksum_failures(ids=item_ids[start:start + CHUNK_SIZE])]
    for item_id, item_location, _ in sorted(rows):
        found.setdefault(item_location, []).append(item_id)
    return found


def _repair(ids: list[int], location_code: str) -> list[Drift]:
    """Lock the drifted items, confirm the drift under the lock, and repost each from its first wrong movement."""
    with transaction.atomic():
        peers = StockItem.objects.filter(variant_id__in=StockItem.objects.filter(pk__in=ids).values("variant_id"))
        locked = lock_items([*ids, *peers.values_list("pk", flat=True)])
        drifts = exact_drifts(sorted(pk for pk in ids if pk in locked), location_code)
        if not drifts:
            return []
        _rewrite_counters_and_locations([d.item_id for d in drifts])
        for drift in drifts:
            repost_with_dependents(locked[drift.item_id], _repost_start(drift))
        return drifts


def _repost_start(drift: Drift) -> Key:
    """Where the repost of a drifted item starts: its first wrong movement (see the module docstring)."""
    if drift.layers_drift or "location" in drift.other_problems:
        return LEDGER_START
    ranks = [rank for rank in (drift.first_bad_rank, drift.first_stale_rank) if rank]
    if not ranks:
        newest = (StockMovement.objects.filter(stock_item_id=drift.item_id).order_by("-movement_date", "-id")
                  .values_list("movement_date", "pk").first())
        return newest or LEDGER_START
    return key_at_rank(drift.item_id, min(ranks))


def _rewrite_counters_and_locations(ids: list[int]) -> None:
    """The items' movement counters from their ledger, and every movement's location from its item."""
    expected = ledger_counts(ids)
    items = list(StockItem.objects.filter(pk__in=ids).only("pk", "stock_location_id", *COUNTER_FIELDS))
    changed = [item for item in items if (item.movement_counts, item.movement_total)
               != (expected[item.pk], sum(expected[item.pk].values()))]
    for item in changed:
        item.movement_counts = expected[item.pk]
        item.movement_total = sum(expected[item.pk].values())
    StockItem.objects.bulk_update(changed, list(COUNTER_FIELDS))
    for item in items:
        StockMovement.objects.filter(stock_item_id=item.pk).exclude(
            stock_location_id=item.stock_location_id).update(stock_location_id=item.stock_location_id)
