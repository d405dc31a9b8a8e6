"""Recount: check the cached stock figures against the movement ledger, and optionally repair them.

What is checked, per stock item:
- `count_on_hand` against SUM(quantity) of its movements;
- every movement's `balance_after` and `rank` against a running SUM() / ROW_NUMBER() window over the
  item's ledger in (movement_date, id) order (`bad_rows` counts the movements that disagree);
- value: the item's `value_in_stock` / `average_cost` against its newest movement's
  `value_in_stock_after` / `average_cost_after`; the remaining cost layers' quantity against the ledger
  count; and, under FIFO, the value against the sum of the remaining layers, under moving average
  against balance x average cost (invariant 6);
- every transfer it received: the transferred_in leg's total_cost against its transferred_out leg's (value
  is conserved in transit; a ledger written before reposts flowed through transfers may disagree).

Detection is set-based SQL that runs on SQLite and PostgreSQL. It walks one location at a time in
chunks of `CHUNK_SIZE` item ids, so the database does the work and Python only ever holds one row
per item of the current chunk (plus the drifts found): memory stays flat however long the ledger is.
Each chunk is read from one snapshot (REPEATABLE READ on PostgreSQL), so a concurrent writer cannot
make a consistent item look drifted.

`fix=True` repairs only the items found drifted: it locks them (in pk order, as every writer does),
checks them again under the lock, rewrites counts, balance_after and rank with set-based UPDATEs, and
then reposts each item's valuation (running value figures, cost layers, consumptions) from its ledger
with `valuation.repost_with_dependents` (which also reposts the destinations of its transfers when the
cost of a transfer changed). Items that pass every check are not rewritten at all, so a recount of a
consistent ledger changes nothing and a full `--fix` costs no more than a check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction

from inventory.models import CostLayer, StockItem, StockLocation, StockMovement, Variant
from inventory.services.errors import StockError
from inventory.services.locking import lock_items
from inventory.services.valuation import FIFO, ZERO, money, repost_with_dependents, valuation_method

CHUNK_SIZE = 500
# Drifted items are repaired this many per transaction, so writers never wait long on their locks.
REPAIR_BATCH = 50

Progress = Callable[[str, int, int], None]


class UnknownLocation(StockError):
    field = "location"
    code = "unknown_location"


@dataclass(frozen=True)
class Drift:
    """One stock item whose cached figures disagree with its ledger (as found, before any fix)."""

    item_id: int
    sku: str
    location_code: str
    cached_count: int
    ledger_count: int
    # Movements whose stored balance_after or rank differ from the running window over the ledger.
    bad_rows: int = 0
    cached_value: Decimal = ZERO
    # The newest movement's value_in_stock_after (0 for an item without movements).
    ledger_value: Decimal = ZERO
    # FIFO: sum of the remaining cost layers; moving average: balance x average cost.
    layer_value: Decimal = ZERO
    # Sum of the remaining quantities of the item's cost layers (should equal ledger_count).
    layer_count: int = 0
    value_drift: bool = False
    # transferred_in legs whose total_cost differs from their transferred_out leg's.
    stale_transfers: int = 0

    @property
    def count_drift(self) -> bool:
        return self.cached_count != self.ledger_count

    @property
    def problems(self) -> list[str]:
        found = []
        if self.count_drift:
            found.append("count")
        if self.bad_rows:
            found.append("running figures")
        if self.value_drift:
            found.append("value")
        if self.stale_transfers:
            found.append("transfer value")
        return found


@dataclass
class RecountReport:
    drifts: list[Drift] = field(default_factory=list)
    fixed: bool = False
    items_checked: int = 0
    locations: list[str] = field(default_factory=list)


def recount(
    *,
    location_code: str | None = None,
    item_ids: list[int] | None = None,
    fix: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> RecountReport:
    """Check (and with `fix`, repair) the stock items of one location or all, optionally only `item_ids`.

    `dry_run` detects and reports and never writes, even with `fix`. `progress(location_code, done,
    total)` is called after each chunk. Raises UnknownLocation for a code that does not exist.
    """
    locations = StockLocation.objects.order_by("code")
    if location_code is not None:
        locations = locations.filter(code=location_code)
        if not locations.exists():
            raise UnknownLocation(f"There is no stock location with code '{location_code}'.")
    repair = fix and not dry_run
    report = RecountReport(fixed=repair)
    for location in locations.only("pk", "code"):
        items = StockItem.objects.filter(stock_location=location)
        if item_ids is not None:
            items = items.filter(pk__in=item_ids)
        total = items.count()
        if not total and item_ids is not None:
            continue
        report.locations.append(location.code)
        done = 0
        if progress:
            progress(location.code, 0, total)
        for chunk in _chunks(items):
            with _snapshot():
                drifts = _detect(chunk, location.code)
            if drifts and repair:
                ids = [d.item_id for d in drifts]
                drifts = []
                for start in range(0, len(ids), REPAIR_BATCH):
                    drifts.extend(_repair(ids[start:start + REPAIR_BATCH], location.code))
            report.drifts.extend(drifts)
            done += len(chunk)
            report.items_checked += len(chunk)
            if progress:
                progress(location.code, done, total)
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
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _names() -> dict[str, str]:
    q = connection.ops.quote_name
    return {
        "movement": q(StockMovement._meta.db_table),
        "item": q(StockItem._meta.db_table),
        "variant": q(Variant._meta.db_table),
        "layer": q(CostLayer._meta.db_table),
        "rank": q("rank"),
    }


def _window(ids: Sequence[int]) -> tuple[str, list[int]]:
    """Each movement of the given items with what its running balance and rank should be."""
    n = _names()
    order = "PARTITION BY m.stock_item_id ORDER BY m.movement_date, m.id"
    sql = f"""
        SELECT m.id, m.stock_item_id, m.quantity, m.balance_after, m.{n['rank']} AS stored_rank,
               m.value_in_stock_after, m.average_cost_after,
               SUM(m.quantity) OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS expected_balance,
               ROW_NUMBER() OVER ({order}) AS expected_rank,
               COUNT(*) OVER (PARTITION BY m.stock_item_id) AS movement_count
        FROM {n['movement']} m
        WHERE m.stock_item_id IN ({', '.join(['%s'] * len(ids))})
    """
    return sql, list(ids)


def _detect(ids: Sequence[int], location_code: str) -> list[Drift]:
    """The drifted items among `ids` (all at one location)."""
    n = _names()
    window, params = _window(ids)
    # The value comparisons stay in SQL so that both sides are read with the same column type; the
    # figures themselves are fetched through the ORM below, for the drifted items only.
    sql = f"""
        SELECT si.id, si.count_on_hand, COALESCE(agg.ledger_count, 0), COALESCE(agg.bad_rows, 0),
               CASE WHEN agg.stock_item_id IS NULL
                    THEN (CASE WHEN si.value_in_stock <> 0 OR si.average_cost <> 0 THEN 1 ELSE 0 END)
                    WHEN si.value_in_stock <> agg.newest_value OR si.average_cost <> agg.newest_average THEN 1
                    ELSE 0 END,
               COALESCE(lyr.layer_count, 0), COALESCE(tr.stale, 0)
        FROM {n['item']} si
        LEFT JOIN (
            SELECT r.stock_item_id,
                   SUM(r.quantity) AS ledger_count,
                   SUM(CASE WHEN r.balance_after <> r.expected_balance OR r.stored_rank <> r.expected_rank
                            THEN 1 ELSE 0 END) AS bad_rows,
                   MAX(CASE WHEN r.expected_rank = r.movement_count THEN r.value_in_stock_after END) AS newest_value,
                   MAX(CASE WHEN r.expected_rank = r.movement_count THEN r.average_cost_after END) AS newest_average
            FROM ({window}) r
            GROUP BY r.stock_item_id
        ) agg ON agg.stock_item_id = si.id
        LEFT JOIN (
            SELECT l.stock_item_id, SUM(l.quantity_remaining) AS layer_count
            FROM {n['layer']} l
            WHERE l.stock_item_id IN ({', '.join(['%s'] * len(ids))}) AND l.quantity_remaining <> 0
            GROUP BY l.stock_item_id
        ) lyr ON lyr.stock_item_id = si.id
        LEFT JOIN (
            SELECT m.stock_item_id, COUNT(*) AS stale
            FROM {n['movement']} m
            JOIN {n['movement']} s ON s.id = m.source_movement_id
            WHERE m.stock_item_id IN ({', '.join(['%s'] * len(ids))}) AND m.total_cost <> s.total_cost
            GROUP BY m.stock_item_id
        ) tr ON tr.stock_item_id = si.id
        WHERE si.id IN ({', '.join(['%s'] * len(ids))})
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *ids, *ids, *ids])
        rows = {row[0]: row[1:] for row in cursor.fetchall()}

    cached = {
        pk: (value, average, sku)
        for pk, value, average, sku in StockItem.objects.filter(pk__in=ids).values_list(
            "pk", "value_in_stock", "average_cost", "variant__sku"
        )
    }
    layer_values = _layer_values(ids)
    fifo = valuation_method() == FIFO
    drifts = []
    for pk in ids:
        cached_count, ledger_count, bad_rows, newest_differs, layer_count, stale = rows[pk]
        cached_value, cached_average, sku = cached[pk]
        # Invariant 6: FIFO values stock at its remaining layers, moving average at balance x average.
        expected = money(layer_values.get(pk, ZERO)) if fifo else money(ledger_count * cached_average)
        value_drift = bool(newest_differs) or layer_count != ledger_count or expected != cached_value
        if cached_count == ledger_count and not bad_rows and not value_drift and not stale:
            continue
        drifts.append(Drift(item_id=pk, sku=sku, location_code=location_code, cached_count=cached_count,
                            ledger_count=ledger_count, bad_rows=bad_rows, cached_value=cached_value,
                            ledger_value=_newest_value(pk), layer_value=expected, layer_count=layer_count,
                            value_drift=value_drift, stale_transfers=stale))
    return drifts


def _layer_values(ids: Sequence[int]) -> dict[int, Decimal]:
    """Exact value of each item's open layers. Summed in Python because SQLite does decimal arithmetic
    in floating point; only open layers are read (a partial index covers them), streamed."""
    totals: dict[int, Decimal] = {}
    layers = (
        CostLayer.objects.filter(stock_item_id__in=ids)
        .exclude(quantity_remaining=0)
        .values_list("stock_item_id", "quantity_remaining", "unit_cost")
    )
    for item_id, remaining, cost in layers.iterator(chunk_size=2000):
        totals[item_id] = totals.get(item_id, ZERO) + remaining * cost
    return totals


def _newest_value(item_id: int) -> Decimal:
    newest = (
        StockMovement.objects.filter(stock_item_id=item_id)
        .order_by("-movement_date", "-id")
        .values_list("value_in_stock_after", flat=True)
        .first()
    )
    return ZERO if newest is None else newest


def _repair(ids: list[int], location_code: str) -> list[Drift]:
    """Lock the drifted items, confirm the drift under the lock, and rebuild them from the ledger."""
    with transaction.atomic():
        # The items' stock-item peers too, up front and in pk order: a repost may flow through transfers
        # to them (see locking.lock_item_and_transfer_peers).
        peers = StockItem.objects.filter(variant_id__in=StockItem.objects.filter(pk__in=ids).values("variant_id"))
        locked = lock_items([*ids, *peers.values_list("pk", flat=True)])
        drifts = _detect(sorted(pk for pk in ids if pk in locked), location_code)
        if not drifts:
            return []
        drifted = [d.item_id for d in drifts]
        _rewrite_running_figures(drifted)
        for item_id in drifted:
            repost_with_dependents(locked[item_id])
        return drifts


def _rewrite_running_figures(ids: Sequence[int]) -> None:
    """Set-based repair of counts, balance_after and rank from the ledger."""
    n = _names()
    window, params = _window(ids)
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {n['movement']}
            SET balance_after = r.expected_balance, {n['rank']} = r.expected_rank
            FROM ({window}) r
            WHERE {n['movement']}.id = r.id
              AND ({n['movement']}.balance_after <> r.expected_balance
                   OR {n['movement']}.{n['rank']} <> r.expected_rank)
            """,
            params,
        )
        cursor.execute(
            f"""
            UPDATE {n['item']}
            SET count_on_hand = COALESCE(
                (SELECT SUM(m.quantity) FROM {n['movement']} m WHERE m.stock_item_id = {n['item']}.id), 0)
            WHERE id IN ({placeholders})
            """,
            list(ids),
        )
