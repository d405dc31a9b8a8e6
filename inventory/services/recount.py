"""Recount: check the cached stock figures against the movement ledger, and optionally repair them.

Two passes. The default detection is the *checksum pass*: one set-based aggregate over the whole movement
table (or one location's, or the given items'), grouped by stock item, no window and no sort, so that
PostgreSQL can run it as a parallel hash aggregate at nearly the cost of a bare GROUP BY. Per item it
compares (see `_checksums`, where a further per-item check belongs):
- count: `count_on_hand` against SUM(quantity) (an item without movements must hold nothing);
- ranks: a dense 1..n has MAX = n and SUM = n(n+1)/2;
- balances: with ranks 1..n and balance_after the running sum of quantities in rank order,
  SUM(balance_after + quantity * rank) = (n+1) * SUM(quantity), so any single wrong balance_after,
  quantity or rank in any row (a quantity is never 0), a missing or an extra movement, moves one side and
  not the other;
- value: the item's `value_in_stock` / `average_cost` against the newest movement's (rank n, one index
  probe per item), and under moving average its value against count x average;
- transfers: every transferred_in leg's total_cost against its transferred_out leg's;
- the item's movement counters: their total against the number of movements (the exact pass compares
  them action by action, and checks every movement's stock_location against its item's).

Only the items that fail a checksum go through the *exact pass* (`_detect`), which reports precisely
what is wrong: a running SUM() / ROW_NUMBER() window over the item's ledger in (movement_date, id) order
checks every movement's `balance_after` and `rank`, and its `value_in_stock_after` against
`balance_after x average_cost_after` within the rounding the valuation allows (`_row_value_fails`);
`bad_rows` counts the movements that disagree. It also checks the open cost layers against the ledger
count and (FIFO) the value, in Decimal. `deep=True` (`recount --deep`) runs the exact pass on every item.
What only `--deep` sees, because the default pass must stay near the cost of a bare GROUP BY (see
`_checksums` for the measured costs): a wrong value figure in a row other than the newest, wrong cost
layers (FIFO), and ranks and running figures that agree with each other but not with
(movement_date, id) order (e.g. two rows' dates swapped), which only a sort can see.

Why value_in_stock_after is checked row by row and not summed like balance_after: it is not the running
sum of the stored signed total_cost. The valuation keeps the exact running value unrounded and stores
both figures rounded to cents (one row's value may be off the previous row's plus its total by a cent),
and under moving average a receipt revalues the whole balance at the new average. What holds exactly on
every row is value_in_stock_after = round(balance x unrounded average), with average_cost_after that
average rounded to 4 places, hence the tolerance.

Each pass reads from one snapshot (REPEATABLE READ on PostgreSQL), so a concurrent writer cannot make a
consistent item look drifted; the exact pass works in chunks of `CHUNK_SIZE` item ids, so Python only ever
holds one row per item of the current chunk plus the suspects and drifts found: memory stays flat however
long the ledger is.

`fix=True` repairs only the items found drifted: it locks them (in pk order, as every writer does),
checks them again under the lock with the exact pass, rewrites counts, balance_after and rank with
set-based UPDATEs, and then reposts each item's valuation (running value figures, cost layers,
consumptions) from its ledger with `valuation.repost_with_dependents` (which also reposts the destinations
of its transfers when the cost of a transfer changed). Items that pass every check are not rewritten at
all, so a recount of a consistent ledger changes nothing and a full `--fix` costs no more than a check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction

from inventory.models import Action, CostLayer, StockItem, StockLocation, StockMovement, Variant
from inventory.services.errors import StockError
from inventory.services.locking import lock_items
from inventory.services.movement_counts import ledger_counts
from inventory.services.repost import LEDGER_START, repost_with_dependents
from inventory.services.valuation import FIFO, ZERO, money, valuation_method

CHUNK_SIZE = 500
# Drifted items are repaired this many per transaction, so writers never wait long on their locks.
REPAIR_BATCH = 50
# Rows fetched at a time from the checksum pass (one row per item): bounds memory on huge catalogues.
FETCH_SIZE = 5000

Progress = Callable[[str, int, int], None]

# The problems the exact pass reports by itself. A checksum whose problem is another name (a check that
# only the aggregate pass makes) is reported under that name.
EXACT_PROBLEMS = ("count", "running figures", "value", "transfer value")


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
    # Movements whose stored balance_after, rank or value figures differ from the running window over
    # the ledger (or break value_in_stock_after ~ balance_after x average_cost_after).
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
    # Problems found by checksums that the exact pass does not make itself (see `_checksums`).
    other_problems: tuple[str, ...] = ()

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
        return found + list(self.other_problems)


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
    for location in locations.only("pk", "code"):
        items = StockItem.objects.filter(stock_location=location)
        if item_ids is not None:
            items = items.filter(pk__in=item_ids)
        total = items.count()
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
                drifts = _detect(chunk, location.code)
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


# --- checksum pass ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Checksum:
    """One per-item check of the aggregate pass. `aggregates` are computed over the item's movements `m`
    in the one GROUP BY and read as columns of `c` (NULL for an item without movements, as is `t.stale`
    without a stale transfer); `fails` is an SQL condition on `c`, `t` and the stock item `si` that is
    true when the item must be looked at. `problem` is how the report names it when the exact pass does
    not find it by itself."""

    problem: str
    fails: str
    aggregates: tuple[str, ...] = ()


def _value_slack(balance: str) -> str:
    """SQL: how far value_in_stock_after may be from balance_after x average_cost_after for a balance of
    absolute value `balance`. Moving average stores round(balance x average, 2): half a cent. FIFO stores
    the exact value V rounded and average = round(V / balance, 4), so balance x average is off V by up to
    |balance| x 0.00005 more (a zero balance holds no value). The 0.000001 absorbs SQLite's floating
    point; on PostgreSQL's exact numerics it changes no outcome."""
    if valuation_method() == FIFO:
        return f"0.005 + {balance} * 0.00005 + 0.000001"
    return "0.005 + 0.000001"


def _row_value_fails(m: str) -> str:
    """SQL: movement `m`'s value_in_stock_after cannot be what the valuation stores for its balance and
    average cost."""
    return (f"ABS({m}.value_in_stock_after - {m}.balance_after * {m}.average_cost_after) "
            f"> {_value_slack(f'ABS({m}.balance_after)')}")


def _checksums(exact: bool = False) -> list[Checksum]:
    """The checks of the aggregate pass. Add a per-item check of the movements here: aggregates over `m`
    and the condition under which the item fails, e.g. that every movement is at its item's location:
    `Checksum("location", "c.min_location <> si.stock_location_id OR c.max_location <> si.stock_location_id",
    ("MIN(m.stock_location_id) AS min_location", "MAX(m.stock_location_id) AS max_location"))`. A problem
    name the exact pass does not know is reported as is, by default and under --deep.

    Each per-row expression costs on every movement, and the pass must stay within 1.5x a bare GROUP BY
    on PostgreSQL. Integer aggregates are nearly free; any numeric (Decimal) arithmetic per row is not
    (one product of the value figures costs 0.7 to 1.1x the GROUP BY), so value_in_stock_after of every
    row and the cost layers are left to the exact pass (`--deep`, or an item that fails here), and
    quantity x rank is summed in float8 (a bigint sum accumulates in numeric, about 0.1x more): exact
    while the sum stays below 2**53, and beyond that a rounding can only flag an item for the exact
    pass, or (in theory) hide a change smaller than the rounding. `exact`: the checks of the exact pass,
    which adds those the default pass leaves out."""
    n = _names()
    rank = f"m.{n['rank']}"
    checks = [
        Checksum("count", "COALESCE(c.q, 0) <> si.count_on_hand", ("SUM(m.quantity) AS q",)),
        Checksum(
            "running figures",
            "c.max_rank <> c.n OR c.sum_rank <> c.n * (c.n + 1) / 2",
            (f"MAX({rank}) AS max_rank", f"SUM({rank}) AS sum_rank"),
        ),
        # With ranks 1..n, SUM(balance_after) = (n+1) x SUM(quantity) - SUM(quantity x rank), summed
        # as one aggregate (each aggregate costs on every row).
        Checksum(
            "running figures",
            "c.balance_sum <> (c.n + 1) * c.q",
            (f"SUM(m.balance_after + CAST(m.quantity AS {_float()}) * {rank}) AS balance_sum",),
        ),
        Checksum(
            "value",
            # The newest movement is rank n (the rank checks above vouch for that): one index probe.
            "(c.n IS NULL AND (si.value_in_stock <> 0 OR si.average_cost <> 0))"
            f" OR (c.n IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {n['movement']} x"
            f" WHERE x.stock_item_id = si.id AND x.{n['rank']} = c.n"
            " AND x.value_in_stock_after = si.value_in_stock AND x.average_cost_after = si.average_cost))",
        ),
        Checksum("transfer value", "t.stale IS NOT NULL"),
        # The item's movement counters (services.movement_counts) hold as many movements as the ledger;
        # which action each counts is checked by the exact pass.
        Checksum("movement counts", f"COALESCE(c.n, 0) <> {_counters_total('si')}"),
    ]
    if exact:
        # Every movement carries its item's location (the per-location reads filter on it): n equal ids sum
        # to n times the id. Only the services write it, from an item whose location never changes, so
        # the default pass leaves it to the exact one (it costs about 0.1 to 0.2x the GROUP BY).
        checks.append(Checksum("location", "c.location_sum <> c.n * si.stock_location_id",
                               (f"SUM(CAST(m.stock_location_id AS {_float()})) AS location_sum",)))
    if valuation_method() != FIFO:
        # Moving average values stock at count x average: a check on the item row alone. (FIFO's, against
        # the open cost layers, is a second scan, of the layers: left to the exact pass.)
        checks.append(Checksum("value", "ABS(COALESCE(c.q, 0) * si.average_cost - si.value_in_stock) >= 0.004999"))
    return checks


def _counters_total(item: str) -> str:
    """SQL: the sum of stock item `item`'s movement counters (a JSON object of action -> count). One
    lookup per action: a set-returning json_each per item costs about 0.2x the GROUP BY, this 0.05x."""
    if connection.vendor == "postgresql":
        terms = [f"COALESCE(({item}.movement_counts ->> '{action}')::bigint, 0)" for action in Action.values]
    else:
        terms = [f"COALESCE(json_extract({item}.movement_counts, '$.{action}'), 0)" for action in Action.values]
    return "(" + " + ".join(terms) + ")"


def _float() -> str:
    return "DOUBLE PRECISION" if connection.vendor == "postgresql" else "REAL"


def _scope(column: str, location_id: int | None, ids: Sequence[int] | None) -> tuple[str, list]:
    """SQL restricting `column` (a stock item id) to a location's items, to `ids`, or to nothing."""
    if ids is not None:
        return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)
    if location_id is not None:
        return f"{column} IN (SELECT id FROM {_names()['item']} WHERE stock_location_id = %s)", [location_id]
    return "1 = 1", []


def _checksum_rows(location_id: int | None = None, ids: Sequence[int] | None = None, *,
                   exact: bool = False) -> Iterator[tuple]:
    """(item id, location id, problems) of each item in scope that fails a checksum, in one statement."""
    n = _names()
    checks = _checksums(exact)
    aggregates = ", ".join(dict.fromkeys(a for check in checks for a in check.aggregates))
    mask = " + ".join(f"(CASE WHEN {check.fails} THEN {1 << bit} ELSE 0 END)" for bit, check in enumerate(checks))
    (movements, p1), (transfers, p2), (items, p3) = [
        _scope(column, location_id, ids) for column in ("m.stock_item_id", "m.stock_item_id", "si.id")]
    # The flags are computed in the SELECT list, each once per item, and filtered here: a WHERE on them
    # would evaluate every condition (and the newest-movement probe) twice.
    sql = f"""
        SELECT si.id, si.stock_location_id, {mask}
        FROM {n['item']} si
        LEFT JOIN (
            SELECT m.stock_item_id, COUNT(*) AS n, {aggregates}
            FROM {n['movement']} m WHERE {movements} GROUP BY m.stock_item_id
        ) c ON c.stock_item_id = si.id
        LEFT JOIN (
            SELECT m.stock_item_id, COUNT(*) AS stale
            FROM {n['movement']} m JOIN {n['movement']} s ON s.id = m.source_movement_id
            WHERE m.source_movement_id IS NOT NULL AND m.total_cost <> s.total_cost AND {transfers}
            GROUP BY m.stock_item_id
        ) t ON t.stock_item_id = si.id
        WHERE {items}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*p1, *p2, *p3])
        while rows := cursor.fetchmany(FETCH_SIZE):
            for item_id, item_location, failed in rows:
                if failed:
                    problems = dict.fromkeys(c.problem for bit, c in enumerate(checks) if failed & (1 << bit))
                    yield item_id, item_location, tuple(problems)


def _suspects(*, location_id: int | None, item_ids: list[int] | None) -> dict[int, list[int]]:
    """The ids of the items failing a checksum, by location id, in pk order."""
    found: dict[int, list[int]] = {}
    with _snapshot():
        if connection.vendor == "postgresql":
            # The statement is costed high enough to be JIT-compiled, and compiling it takes longer
            # (about 0.3 s) than the compiled code saves on a million rows.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        if item_ids is None:
            rows = list(_checksum_rows(location_id=location_id))
        else:
            rows = [row for start in range(0, len(item_ids), CHUNK_SIZE)
                    for row in _checksum_rows(ids=item_ids[start:start + CHUNK_SIZE])]
    for item_id, item_location, _ in sorted(rows):
        found.setdefault(item_location, []).append(item_id)
    return found


# --- exact pass ------------------------------------------------------------------------------------------

def _window(ids: Sequence[int]) -> tuple[str, list[int]]:
    """Each movement of the given items with what its running balance and rank should be."""
    n = _names()
    order = "PARTITION BY m.stock_item_id ORDER BY m.movement_date, m.id"
    sql = f"""
        SELECT m.id, m.stock_item_id, m.quantity, m.balance_after, m.{n['rank']} AS stored_rank,
               m.value_in_stock_after, m.average_cost_after,
               CASE WHEN {_row_value_fails('m')} THEN 1 ELSE 0 END AS bad_value,
               SUM(m.quantity) OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS expected_balance,
               ROW_NUMBER() OVER ({order}) AS expected_rank,
               COUNT(*) OVER (PARTITION BY m.stock_item_id) AS movement_count
        FROM {n['movement']} m
        WHERE m.stock_item_id IN ({', '.join(['%s'] * len(ids))})
    """
    return sql, list(ids)


def _detect(ids: Sequence[int], location_code: str) -> list[Drift]:
    """The drifted items among `ids` (all at one location): the exact pass. The checksums are run again
    on these items for the problems only they know of (see `_checksums`)."""
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
                                 OR r.bad_value = 1 THEN 1 ELSE 0 END) AS bad_rows,
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
    other_problems = {item_id: tuple(p for p in problems if p not in EXACT_PROBLEMS)
                      for item_id, _, problems in _checksum_rows(ids=ids, exact=True)}
    for pk in _miscounted(ids):
        other_problems[pk] = tuple(dict.fromkeys([*other_problems.get(pk, ()), "movement counts"]))
    fifo = valuation_method() == FIFO
    drifts = []
    for pk in ids:
        cached_count, ledger_count, bad_rows, newest_differs, layer_count, stale = rows[pk]
        cached_value, cached_average, sku = cached[pk]
        # Invariant 6: FIFO values stock at its remaining layers, moving average at balance x average.
        expected = money(layer_values.get(pk, ZERO)) if fifo else money(ledger_count * cached_average)
        value_drift = bool(newest_differs) or layer_count != ledger_count or expected != cached_value
        other = other_problems.get(pk, ())
        if cached_count == ledger_count and not bad_rows and not value_drift and not stale and not other:
            continue
        drifts.append(Drift(item_id=pk, sku=sku, location_code=location_code, cached_count=cached_count,
                            ledger_count=ledger_count, bad_rows=bad_rows, cached_value=cached_value,
                            ledger_value=_newest_value(pk), layer_value=expected, layer_count=layer_count,
                            value_drift=value_drift, stale_transfers=stale, other_problems=other))
    return drifts


def _miscounted(ids: Sequence[int]) -> list[int]:
    """The items among `ids` whose movement counters differ from their ledger's, action by action."""
    expected = ledger_counts(ids)
    stored = StockItem.objects.filter(pk__in=ids).values_list("pk", "movement_counts")
    return [pk for pk, counts in stored if counts != expected[pk]]


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
            repost_with_dependents(locked[item_id], LEDGER_START)
        return drifts


def _rewrite_running_figures(ids: Sequence[int]) -> None:
    """Set-based repair of counts, balance_after and rank from the ledger; and of the movement counters
    and the movements' location, from the ledger and the item."""
    n = _names()
    expected = ledger_counts(ids)
    items = list(StockItem.objects.filter(pk__in=ids).only("pk", "stock_location_id"))
    for item in items:
        item.movement_counts = expected[item.pk]
    StockItem.objects.bulk_update(items, ["movement_counts"])
    for item in items:
        StockMovement.objects.filter(stock_item_id=item.pk).exclude(
            stock_location_id=item.stock_location_id).update(stock_location_id=item.stock_location_id)
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
