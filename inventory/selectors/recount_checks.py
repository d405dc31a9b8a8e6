"""The read side of `recount`: which stock items disagree with their ledger, and how (read-only SQL).

Two passes (`services.recount` runs them):

The *checksum pass* is one aggregate over the narrow figures table (`MovementFigures`, one row per
movement carrying its item and quantity), grouped by stock item, no window and no sort, so that PostgreSQL
can run it as a parallel hash aggregate at about the cost of a bare GROUP BY over the movement table (a
second scan, of the movements themselves, would double it). Per item:
- ranks: a dense 1..n has MAX = n and SUM = n(n+1)/2;
- count and balances: with ranks 1..n and balance_after the running sum of quantities in rank order,
  SUM(balance_after + quantity * rank) = (n+1) * SUM(quantity), and SUM(quantity) must be `count_on_hand`:
  a wrong count, any single wrong balance_after, quantity or rank, a missing or an extra movement, moves
  one side and not the other;
- value: the item's `value_in_stock` / `average_cost` against its newest movement's (one probe per item);
  under moving average, its value against count x average;
- transfers: every transferred_in leg's total_cost against its transferred_out leg's;
- the item's movement counters: their total against the number of movements (the table's constraint
  `stock_item_counters_add_up` holds the counters to that total).

The *exact pass* (`exact_drifts`) runs on the items a checksum flags, or on all with `--deep`: a running
SUM() / ROW_NUMBER() window over each item's movements in (movement_date, id) order checks every movement's
balance_after and rank, its value_in_stock_after against balance_after x average_cost_after within the
rounding the valuation allows and against its exact running value, and the figures' copies of the
movement's item and quantity; it finds the first movement that is wrong (a fix reposts from there), and
checks the open cost layers and the item's last movement date. What only `--deep` sees: a movement whose
own quantity was changed behind the services' back (its figures' copy still agrees with the count), a
wrong value figure in a row other than the newest, wrong cost layers (FIFO), and ranks and running figures
that agree with each other but not with (movement_date, id) order.

Why value_in_stock_after is checked row by row and not summed like balance_after: the valuation keeps the
exact running value unrounded (`running_value`) and stores the shown figures rounded to cents, and under
moving average a receipt revalues the whole balance. What holds on every row is value_in_stock_after =
round(running_value, 2) ~ balance x average_cost_after.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import F

from inventory.models import CostLayer, MovementFigures, StockItem, StockMovement
from inventory.rawsql import on_postgresql, placeholders, q, table
from inventory.selectors.movement_counts import ledger_counts
from inventory.services.valuation import FIFO, ZERO, money, valuation_method

# Rows fetched at a time from the checksum pass (one row per item): bounds memory on huge catalogues.
FETCH_SIZE = 5000

# The problems the exact pass reports by itself. A checksum whose problem is another name (a check that
# only the aggregate pass makes) is reported under that name.
EXACT_PROBLEMS = ("count", "running figures", "value", "transfer value")


@dataclass(frozen=True)
class Drift:
    """One stock item whose cached figures disagree with its ledger (as found, before any fix)."""

    item_id: int
    sku: str
    location_code: str
    cached_count: int
    ledger_count: int
    # Movements whose stored figures differ from the running window over the ledger.
    bad_rows: int = 0
    # Position (1-based, ledger order) of the first such movement; 0 when every row is right.
    first_bad_rank: int = 0
    cached_value: Decimal = ZERO
    # The newest movement's value_in_stock_after (0 for an item without movements).
    ledger_value: Decimal = ZERO
    # FIFO: sum of the remaining cost layers; moving average: balance x average cost.
    layer_value: Decimal = ZERO
    # Sum of the remaining quantities of the item's cost layers (should equal ledger_count).
    layer_count: int = 0
    value_drift: bool = False
    # The open cost layers disagree with the ledger count or (FIFO) with the item's value: reported as a
    # value problem; a fix then reposts the item from its first movement.
    layers_drift: bool = False
    # transferred_in legs whose total_cost differs from their transferred_out leg's, and the first of them.
    stale_transfers: int = 0
    first_stale_rank: int = 0
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
        if self.value_drift or self.layers_drift:
            found.append("value")
        if self.stale_transfers:
            found.append("transfer value")
        return found + list(self.other_problems)


def _names() -> dict[str, str]:
    return {"movement": table(StockMovement), "figures": table(MovementFigures), "item": table(StockItem),
            "layer": table(CostLayer), "rank": q("rank")}


def _float() -> str:
    return "DOUBLE PRECISION" if on_postgresql() else "REAL"


def _value_slack(balance: str) -> str:
    """SQL: how far value_in_stock_after may be from balance_after x average_cost_after for a balance of
    absolute value `balance`. Moving average stores round(balance x average, 2): half a cent. FIFO stores
    the exact value V rounded and average = round(V / balance, 4), so balance x average is off V by up to
    |balance| x 0.00005 more. The 0.000001 absorbs SQLite's floating point."""
    if valuation_method() == FIFO:
        return f"0.005 + {balance} * 0.00005 + 0.000001"
    return "0.005 + 0.000001"


def _row_bad(f: str, m: str) -> str:
    """SQL: figures row `f` of movement `m` cannot be what the valuation stores (NULL where `f` is missing,
    which the caller tests)."""
    checks = [
        f"ABS({f}.value_in_stock_after - {f}.balance_after * {f}.average_cost_after)"
        f" > {_value_slack(f'ABS({f}.balance_after)')}",
        f"ABS({f}.value_in_stock_after - {f}.running_value) > 0.005 + 0.000001",
        f"{f}.quantity <> {m}.quantity",
        f"{f}.stock_item_id <> {m}.stock_item_id",
    ]
    if valuation_method() != FIFO:
        checks.append(f"ABS({f}.running_value - {f}.balance_after * {f}.average_cost_after) > 0.000001")
    return " OR ".join(f"({c})" for c in checks)


@dataclass(frozen=True)
class Checksum:
    """One per-item check of the aggregate pass: `aggregates` over the item's figures rows `f`, read as
    columns of `c` (NULL for an item without movements, as is `t.stale` without a stale transfer); `fails`
    an SQL condition on `c`, `t` and the stock item `si`."""

    problem: str
    fails: str
    aggregates: tuple[str, ...] = ()


def _checksums() -> list[Checksum]:
    """The checks of the aggregate pass, over the figures table alone (one scan of one row per movement).
    Integer aggregates are nearly free; Decimal arithmetic per row is not, so per-row value checks are left
    to the exact pass. quantity x rank is summed in float8: exact below 2**53, and beyond that a rounding
    can only flag an item for the exact pass."""
    n = _names()
    rank = f"f.{n['rank']}"
    checks = [
        Checksum("running figures", "c.max_rank <> c.n OR c.sum_rank <> c.n * (c.n + 1) / 2",
                 (f"MAX({rank}) AS max_rank", f"SUM({rank}) AS sum_rank")),
        # With ranks 1..n and balance_after the running sum of the quantities, SUM(balance_after) =
        # (n+1) x SUM(quantity) - SUM(quantity x rank), and SUM(quantity) is the count: one aggregate checks
        # the balances and the count (each aggregate costs on every movement; the exact pass says which).
        Checksum("count", "COALESCE(c.balance_sum, 0) <> (COALESCE(c.n, 0) + 1) * si.count_on_hand",
                 (f"SUM(f.balance_after + CAST(f.quantity AS {_float()}) * {rank}) AS balance_sum",)),
        Checksum(
            "value",
            # The newest movement is rank n (the checks above vouch for that): one index-only probe. The
            # item also keeps its exact running value; its last movement date is the exact pass's check.
            "(c.n IS NULL AND (si.value_in_stock <> 0 OR si.average_cost <> 0 OR si.running_value <> 0))"
            f" OR (c.n IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {n['figures']} x"
            f" WHERE x.stock_item_id = si.id AND x.{n['rank']} = c.n AND x.value_in_stock_after = si.value_in_stock"
            " AND x.average_cost_after = si.average_cost AND x.running_value = si.running_value))",
        ),
        Checksum("transfer value", "t.stale IS NOT NULL"),
        # The counters add up to the total in every row (a constraint of the table): the total stands for them.
        Checksum("movement counts", "COALESCE(c.n, 0) <> si.movement_total"),
    ]
    if valuation_method() != FIFO:
        checks.append(Checksum("value", "ABS(si.count_on_hand * si.average_cost - si.value_in_stock) >= 0.004999"))
    return checks


def _scope(column: str, location_id: int | None, ids: Sequence[int] | None) -> tuple[str, list]:
    """SQL restricting `column` (a stock item id) to a location's items, to `ids`, or to nothing."""
    if ids is not None:
        return f"{column} IN ({placeholders(len(ids))})", list(ids)
    if location_id is not None:
        return f"{column} IN (SELECT id FROM {_names()['item']} WHERE stock_location_id = %s)", [location_id]
    return "1 = 1", []


def _stale_transfers(scope: str) -> str:
    """SQL: per destination item, the transferred_in legs whose total_cost differs from their source leg's."""
    n = _names()
    return f"""
        SELECT m.stock_item_id, COUNT(*) AS stale
        FROM {n['movement']} m
        JOIN {n['figures']} mf ON mf.movement_id = m.id
        JOIN {n['figures']} sf ON sf.movement_id = m.source_movement_id
        WHERE m.source_movement_id IS NOT NULL AND mf.total_cost <> sf.total_cost AND {scope}
        GROUP BY m.stock_item_id"""


def checksum_failures(location_id: int | None = None, ids: Sequence[int] | None = None
                      ) -> Iterator[tuple[int, int, tuple[str, ...]]]:
    """(item id, location id, problems) of each item in scope that fails a checksum, in one statement."""
    n = _names()
    checks = _checksums()
    aggregates = ", ".join(dict.fromkeys(a for check in checks for a in check.aggregates))
    mask = " + ".join(f"(CASE WHEN {check.fails} THEN {1 << bit} ELSE 0 END)" for bit, check in enumerate(checks))
    (figures, p1), (transfers, p2), (items, p3) = [
        _scope(column, location_id, ids) for column in ("f.stock_item_id", "m.stock_item_id", "si.id")]
    # The flags are computed in the SELECT list, each once per item, and filtered outside it: a WHERE on them
    # would evaluate every condition (and the newest-movement probe) twice. OFFSET 0 keeps PostgreSQL from
    # merging the two levels back into one; only the failing items cross the wire (none, mostly, instead of a
    # row per item).
    sql = f"""
        SELECT id, stock_location_id, flags FROM (
        SELECT si.id, si.stock_location_id, {mask} AS flags
        FROM {n['item']} si
        LEFT JOIN (
            SELECT f.stock_item_id, COUNT(*) AS n, {aggregates}
            FROM {n['figures']} f WHERE {figures} GROUP BY f.stock_item_id
        ) c ON c.stock_item_id = si.id
        LEFT JOIN ({_stale_transfers(transfers)}) t ON t.stock_item_id = si.id
        WHERE {items}{" OFFSET 0" if on_postgresql() else ""}) flagged WHERE flags <> 0
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*p1, *p2, *p3])
        while rows := cursor.fetchmany(FETCH_SIZE):
            for item_id, item_location, failed in rows:
                problems = dict.fromkeys(c.problem for bit, c in enumerate(checks) if failed & (1 << bit))
                yield item_id, item_location, tuple(problems)


def _window(ids: Sequence[int]) -> tuple[str, list[int]]:
    """Each movement of the given items with its figures and what its balance and rank should be."""
    n = _names()
    order = "PARTITION BY m.stock_item_id ORDER BY m.movement_date, m.id"
    sql = f"""
        SELECT m.id, m.stock_item_id, m.quantity, m.movement_date, f.balance_after, f.{n['rank']} AS stored_rank,
               f.value_in_stock_after, f.average_cost_after, f.total_cost, f.running_value,
               CASE WHEN f.movement_id IS NULL OR {_row_bad('f', 'm')} THEN 1 ELSE 0 END AS bad_value,
               SUM(m.quantity) OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS expected_balance,
               ROW_NUMBER() OVER ({order}) AS expected_rank,
               COUNT(*) OVER (PARTITION BY m.stock_item_id) AS movement_count
        FROM {n['movement']} m LEFT JOIN {n['figures']} f ON f.movement_id = m.id
        WHERE m.stock_item_id IN ({placeholders(len(ids))})
    """
    return sql, list(ids)


def exact_drifts(ids: Sequence[int], location_code: str) -> list[Drift]:
    """The drifted items among `ids` (all at one location): the exact pass."""
    n = _names()
    window, params = _window(ids)
    marks = placeholders(len(ids))
    sql = f"""
        SELECT si.id, si.count_on_hand, COALESCE(agg.ledger_count, 0), COALESCE(agg.bad_rows, 0),
               COALESCE(agg.first_bad, 0),
               CASE WHEN agg.stock_item_id IS NULL
                    THEN (CASE WHEN si.value_in_stock <> 0 OR si.average_cost <> 0 OR si.running_value <> 0
                                    OR si.last_movement_at IS NOT NULL THEN 1 ELSE 0 END)
                    WHEN si.value_in_stock <> agg.newest_value OR si.average_cost <> agg.newest_average
                         OR si.running_value <> agg.newest_running OR si.last_movement_at <> agg.newest_date
                         OR si.last_movement_at IS NULL THEN 1
                    ELSE 0 END,
               COALESCE(lyr.layer_count, 0), COALESCE(agg.stale, 0), COALESCE(agg.first_stale, 0)
        FROM {n['item']} si
        LEFT JOIN (
            SELECT r.stock_item_id,
                   SUM(r.quantity) AS ledger_count,
                   SUM(CASE WHEN r.balance_after <> r.expected_balance OR r.stored_rank <> r.expected_rank
                                 OR r.bad_value = 1 THEN 1 ELSE 0 END) AS bad_rows,
                   MIN(CASE WHEN r.balance_after <> r.expected_balance OR r.stored_rank <> r.expected_rank
                                 OR r.bad_value = 1 THEN r.expected_rank END) AS first_bad,
                   SUM(CASE WHEN s.total_cost IS NOT NULL AND s.total_cost <> r.total_cost THEN 1 ELSE 0 END)
                       AS stale,
                   MIN(CASE WHEN s.total_cost IS NOT NULL AND s.total_cost <> r.total_cost THEN r.expected_rank END)
                       AS first_stale,
                   MAX(CASE WHEN r.expected_rank = r.movement_count THEN r.value_in_stock_after END) AS newest_value,
                   MAX(CASE WHEN r.expected_rank = r.movement_count THEN r.average_cost_after END) AS newest_average,
                   MAX(CASE WHEN r.expected_rank = r.movement_count THEN r.running_value END) AS newest_running,
                   MAX(CASE WHEN r.expected_rank = r.movement_count THEN r.movement_date END) AS newest_date
            FROM ({window}) r
            LEFT JOIN {n['movement']} rm ON rm.id = r.id AND rm.source_movement_id IS NOT NULL
            LEFT JOIN {n['figures']} s ON s.movement_id = rm.source_movement_id
            GROUP BY r.stock_item_id
        ) agg ON agg.stock_item_id = si.id
        LEFT JOIN (
            SELECT l.stock_item_id, SUM(l.quantity_remaining) AS layer_count
            FROM {n['layer']} l
            WHERE l.stock_item_id IN ({marks}) AND l.quantity_remaining <> 0
            GROUP BY l.stock_item_id
        ) lyr ON lyr.stock_item_id = si.id
        WHERE si.id IN ({marks})
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *ids, *ids])
        rows = {row[0]: row[1:] for row in cursor.fetchall()}

    cached = {pk: (value, average, sku) for pk, value, average, sku in StockItem.objects.filter(pk__in=ids)
              .values_list("pk", "value_in_stock", "average_cost", "variant__sku")}
    layer_values = _layer_values(ids)
    other_problems = {item_id: tuple(p for p in problems if p not in EXACT_PROBLEMS)
                      for item_id, _, problems in checksum_failures(ids=ids)}
    for pk in _miscounted(ids):
        other_problems[pk] = tuple(dict.fromkeys([*other_problems.get(pk, ()), "movement counts"]))
    for pk in _misplaced(ids):
        other_problems[pk] = tuple(dict.fromkeys([*other_problems.get(pk, ()), "location"]))
    fifo = valuation_method() == FIFO
    drifts = []
    for pk in ids:
        cached_count, ledger_count, bad_rows, first_bad, newest_differs, layer_count, stale, first_stale = rows[pk]
        cached_value, cached_average, sku = cached[pk]
        # Invariant 6: FIFO values stock at its remaining layers, moving average at balance x average.
        expected = money(layer_values.get(pk, ZERO)) if fifo else money(ledger_count * cached_average)
        layers_drift = layer_count != ledger_count or (fifo and expected != cached_value)
        value_drift = bool(newest_differs) or layer_count != ledger_count or expected != cached_value
        other = other_problems.get(pk, ())
        if cached_count == ledger_count and not (bad_rows or value_drift or layers_drift or stale or other):
            continue
        drifts.append(Drift(item_id=pk, sku=sku, location_code=location_code, cached_count=cached_count,
                            ledger_count=ledger_count, bad_rows=bad_rows, first_bad_rank=first_bad,
                            cached_value=cached_value, ledger_value=_newest_value(pk), layer_value=expected,
                            layer_count=layer_count, value_drift=value_drift, layers_drift=layers_drift,
                            stale_transfers=stale, first_stale_rank=first_stale, other_problems=other))
    return drifts


def _miscounted(ids: Sequence[int]) -> list[int]:
    """The items among `ids` whose movement counters differ from their ledger's, action by action."""
    expected = ledger_counts(ids)
    stored = StockItem.objects.filter(pk__in=ids).values_list("pk", "movement_counts", "movement_total")
    return [pk for pk, counts, total in stored if counts != expected[pk] or total != sum(expected[pk].values())]


def _misplaced(ids: Sequence[int]) -> set[int]:
    """The items among `ids` with a movement that does not carry the item's location."""
    return set(StockMovement.objects.filter(stock_item_id__in=ids)
               .exclude(stock_location_id=F("stock_item__stock_location_id"))
               .values_list("stock_item_id", flat=True).distinct())


def _layer_values(ids: Sequence[int]) -> dict[int, Decimal]:
    """Exact value of each item's open layers. Summed in Python because SQLite does decimal arithmetic
    in floating point; only open layers are read (a partial index covers them), streamed."""
    totals: dict[int, Decimal] = {}
    layers = (CostLayer.objects.filter(stock_item_id__in=ids).exclude(quantity_remaining=0)
              .values_list("stock_item_id", "quantity_remaining", "unit_cost"))
    for item_id, remaining, cost in layers.iterator(chunk_size=2000):
        totals[item_id] = totals.get(item_id, ZERO) + remaining * cost
    return totals


def _newest_value(item_id: int) -> Decimal:
    newest = (StockMovement.objects.filter(stock_item_id=item_id).order_by("-movement_date", "-id")
              .values_list("figures__value_in_stock_after", flat=True).first())
    return ZERO if newest is None else newest


def key_at_rank(item_id: int, rank: int):
    """The (movement_date, id) of the item's `rank`-th movement in ledger order."""
    return (StockMovement.objects.filter(stock_item_id=item_id).order_by("movement_date", "id")
            .values_list("movement_date", "pk")[rank - 1])
