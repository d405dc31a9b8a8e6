"""Corrections repost only the tail of an item's ledger: from the first movement they change onwards.

A backdated movement, an edit (quantity, unit cost, date), a date move or a deletion changes the running
figures of every movement after it in ledger order, (movement_date, id), and nothing before it. So
`repost_from(item, start)` works on the tail `(movement_date, id) >= start` alone:

1. Unwind: one set-based pass gives back to the older layers what the tail's movements drew from them
   (and takes back what they settled of older shortfalls), then deletes the tail's consumptions and the
   layers its movements created. The stored open layers are then exactly those open at `start`.
2. Restore the valuation state at `start` from the movement before it: its balance, exact running value
   and average cost (`ItemValuation.at`); the open layers are read lazily, oldest first.
3. Replay the tail in ledger order, read in keyset chunks of `CHUNK` light rows (no model instances),
   and write what changed every chunk: new layers and consumptions as one INSERT of arrays, changed
   figures as one UPDATE ... FROM arrays on PostgreSQL. The writes of a chunk are sent in pipeline mode
   and run in the database while Python values the next chunk. Memory stays flat however long the tail.

Everything runs in the caller's transaction under the item's lock: a crash leaves nothing half-reposted.
The cost grows with the tail, not with the history before it. A transfer carries cost between items: when
the tail's transferred_out legs draw different batches, each destination item is reposted from its
transferred_in leg onwards (`repost_with_dependents`). `services.rebuild` is the reference full rebuild
the tests compare this against.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone

from inventory.models import Action, CostLayer, LayerConsumption, MovementFigures, StockItem, StockMovement
from inventory.rawsql import on_postgresql, q, select, select_later, table
from inventory.services import ledger_io as io
from inventory.services.errors import InsufficientStock, StockError
from inventory.services.locking import lock_items
from inventory.services.rules import pushes_below_zero
from inventory.services.valuation import ITEM_FIGURES, ZERO, ItemValuation, Layer

Key = tuple[datetime, int]  # (movement_date, id): a position in an item's ledger
LEDGER_START: Key = (datetime(1, 1, 1, tzinfo=UTC), 0)  # before every movement

# Movements read (and written) at a time: bounds the replay's memory.
CHUNK = 5000
# New layers a repost keeps open in memory before writing them (NewLayers): bounds what it holds and writes at
# its end (a 300-day backdate at 1,000,000 movements leaves a FIFO queue of 56,000 layers).
MAX_OPEN = 10_000
# A transfer chain runs forward in time, so reposting converges; the bound only guards against a bug.
MAX_REPOST_ROUNDS = 50


class CorrectionTooLarge(StockError):
    """The correction would repost more movements than a request may (settings.STOCKROOM_MAX_REPOST)."""

    field = "movement_date"
    code = "correction_too_large"


@dataclass(slots=True)
class LedgerRow:
    """One movement of the tail, as the replay reads, values and writes it."""

    pk: int
    quantity: int
    action: str
    # The movement date as the database prints it: only the next chunk's read needs it back.
    date_text: str
    # Whether the movement is at or after the check point (the stock check applies to it).
    checked: bool
    unit_cost_fixed: bool
    source_movement_id: int | None
    rank: int
    balance_after: int
    value_per_unit: Decimal
    total_cost: Decimal
    value_in_stock_after: Decimal
    average_cost_after: Decimal
    running_value: Decimal
    stored: tuple = ()

    def figures(self) -> tuple:
        """What MovementFigures stores for it, in io.MOVEMENT_FIGURES order."""
        return (self.quantity, self.rank, self.balance_after, self.value_per_unit, self.total_cost,
                self.value_in_stock_after, self.average_cost_after, self.running_value)


@dataclass
class RepostResult:
    state: ItemValuation
    reposted: int = 0  # movements replayed
    rewritten: int = 0  # movements whose figures changed
    # Items whose transferred_in legs took their cost from a transfer out of this item that now draws
    # other batches, with where their own reposts start.
    dependents: dict[int, Key] = field(default_factory=dict)


def repost_limit() -> int | None:
    """How many movements one correction may repost here: STOCKROOM_MAX_REPOST in a process that serves
    requests, no limit in a management command (`manage.py correct`). None: no limit."""
    if settings.MANAGEMENT_COMMAND:
        return None
    return settings.STOCKROOM_MAX_REPOST or None


def repost_with_dependents(item: StockItem, start: Key, *, check_from: Key | None = None,
                           remove: StockMovement | None = None, limit: int | None = None) -> RepostResult:
    """`repost_from`, then repost every item downstream of a transfer whose cost changed, each from its own
    transferred_in leg, so value is conserved between a transfer's two legs.

    Downstream items must be locked by the caller already (they are the item's variant's other stock
    items; see locking.lock_item_and_transfer_peers). Their quantities do not change, only their costs,
    so no stock check is needed on them."""
    result = repost_from(item, start, check_from=check_from, remove=remove, limit=limit)
    pending = dict(result.dependents)
    for _ in range(MAX_REPOST_ROUNDS):
        if not pending:
            return result
        locked = lock_items(pending)
        following: dict[int, Key] = {}
        for pk in sorted(pending):
            for dependent, key in repost_from(locked[pk], pending[pk], limit=limit).dependents.items():
                following[dependent] = min(key, following.get(dependent, key))
        pending = following
    raise RuntimeError("transfer cost reposting did not converge")


def repost_from(item: StockItem, start: Key, *, check_from: Key | None = None,
                remove: StockMovement | None = None, limit: int | None = None) -> RepostResult:
    """Repost a locked item's ledger from `start` on (see the module docstring); `remove`, a movement at
    `start`, is deleted once its layers are unwound. `check_from`: if the item is not backorderable, no
    movement at or after it may leave the balance below zero (InsufficientStock; the caller's transaction
    rolls back). `limit`: refuse (CorrectionTooLarge) a tail longer than that."""
    date_param = io.prepared_datetime(start[0])
    if limit is not None:
        _refuse_long_tail(item, date_param, start[1], limit)
    lots_before = _outbound_lots(item.pk, date_param, start[1])
    _unwind(item.pk, date_param, start[1])
    if remove is not None:
        remove.delete()
    state, rank = _state_before(item, date_param, start[1])
    result = RepostResult(state=state)
    now = io.prepared_datetime(timezone.now())
    check = check_from if check_from is not None and not item.backorderable else None
    chunks = _tail_chunks(item.pk, date_param, start[1], check)
    layers = NewLayers(item.pk)
    with io.pipelined():
        current = next(chunks, None)
        while current is not None:
            rows, lots = current
            changed = _replay(item, state, rows, lots, rank, now)
            rank += len(rows)
            result.reposted += len(rows)
            result.rewritten += len(changed)
            # Read the next chunk (which waits for the writes sent before), then send this one's writes: the
            # database runs them while the next chunk is valued.
            current = next(chunks, None)
            _write(state, changed, layers)
        layers.flush()
    state.store_on_item()
    item.last_movement_at = io.newest_movement_date(item.pk)
    item.save(update_fields=ITEM_FIGURES)
    result.dependents = _dependents(lots_before)
    return result


def _replay(item: StockItem, state: ItemValuation, rows: list[LedgerRow], lots: dict[int, list], rank: int,
            now) -> list[tuple]:
    """Value a chunk of the tail in order (`rank`: the rank before its first row); the rows of figures to write
    (those that changed), each (*MOVEMENT_FIGURES, updated_at, movement id)."""
    changed = []
    for row in rows:
        rank += 1
        row.rank = rank
        row_lots = lots.get(row.source_movement_id) if row.source_movement_id else None
        if row.quantity > 0 and row_lots is None and not row.unit_cost_fixed:
            row.value_per_unit = state.average
        state.apply(row, row_lots)
        # A new row (rank 0: no figures yet) is judged against the balance before it, any other against the
        # balance it had before the correction (rules.pushes_below_zero).
        before = row.balance_after - row.quantity if row.stored[1] == 0 else row.stored[2]
        if row.checked and pushes_below_zero(before, row.balance_after):
            date = StockMovement.objects.values_list("movement_date", flat=True).get(pk=row.pk)
            raise InsufficientStock(
                f"Stock of {item.variant.sku} at {item.stock_location.code} would fall to "
                f"{row.balance_after} on {date:%Y-%m-%d %H:%M}; the item is not backorderable.")
        if row.figures() != row.stored:
            changed.append((*row.figures(), now, row.pk))
    return changed


def _refuse_long_tail(item: StockItem, date_param, movement_id: int, limit: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {table(StockMovement)} WHERE stock_item_id = %s"
                       f" AND {AT_OR_AFTER} LIMIT %s) t",
                       [item.pk, date_param, date_param, movement_id, limit + 1])
        tail = cursor.fetchone()[0]
    if tail > limit:
        raise CorrectionTooLarge(
            f"This correction would repost more than {limit} movements of {item.variant.sku} at "
            f"{item.stock_location.code}, more than a request may (STOCKROOM_MAX_REPOST). Record it dated now "
            f"instead, or ask an operator to run it with `python manage.py correct`.")


# Movements at or after a key (parameters: date, date, id). The plain date bound is redundant for the result
# but not for the planner: it estimates a row comparison at a tenth of the item's ledger, and for a short tail of
# a deep item would then hash-join whole tables (0.9 s at a million movements instead of milliseconds).
AT_OR_AFTER = "movement_date >= %s AND (movement_date, id) >= (%s, %s)"


def _tail_ids(item_id: int) -> str:
    """SQL selecting the ids of the item's movements at or after a key (parameters: item, date, date, id)."""
    return f"SELECT id FROM {table(StockMovement)} WHERE stock_item_id = %s AND {AT_OR_AFTER}"


def _unwind(item_id: int, date_param, movement_id: int) -> None:
    """Undo the tail's cost layers and consumptions (step 1 of the module docstring)."""
    layers, consumptions = table(CostLayer), table(LayerConsumption)
    tail = [item_id, date_param, date_param, movement_id]
    # A batch gets back what the tail drew from it; a shortfall loses what the tail settled of it.
    give_back = (f"quantity_remaining = {layers}.quantity_remaining"
                 f" + CASE WHEN {layers}.quantity_received < 0 THEN -d.drawn ELSE d.drawn END")
    if on_postgresql():
        # One statement, the tail's ids found once: its consumptions deleted, what they drew given back to the
        # layers that stay (those of movements before the tail), the tail's own layers deleted. The parts
        # touch disjoint rows, as one statement's parts must. Rows are looked up by `= ANY(ARRAY(tail))`, by
        # index whatever the planner guesses of the tail's length: with `IN (...)` a guess of thousands (it
        # cannot know that a short tail of a deep item is short) hash-joins whole tables (0.9 s at 1,000,000).
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH tail AS MATERIALIZED ({_tail_ids(item_id)}),"
                f" gone AS (DELETE FROM {consumptions} c WHERE c.movement_id = ANY(ARRAY(SELECT id FROM tail))"
                f" RETURNING c.layer_id, c.quantity),"
                f" back AS (UPDATE {layers} SET {give_back}"
                f" FROM (SELECT layer_id, SUM(quantity) AS drawn FROM gone GROUP BY layer_id) d,"
                f" {table(StockMovement)} m WHERE {layers}.id = d.layer_id AND m.id = {layers}.movement_id"
                f" AND (m.movement_date, m.id) < (%s, %s))"
                f" DELETE FROM {layers} WHERE movement_id = ANY(ARRAY(SELECT id FROM tail))",
                [*tail, date_param, movement_id])
        return
    drawn = (f"SELECT c.layer_id, SUM(c.quantity) AS drawn FROM {consumptions} c"
             f" WHERE {_of_tail('c.movement_id', item_id)}")
    with connection.cursor() as cursor:
        # The layers the tail created are deleted below whatever this does to them.
        cursor.execute(f"UPDATE {layers} SET {give_back} FROM ({drawn} GROUP BY c.layer_id) d"
                       f" WHERE {layers}.id = d.layer_id", tail)
        cursor.execute(f"DELETE FROM {consumptions} WHERE {_of_tail('movement_id', item_id)}", tail)
        cursor.execute(f"DELETE FROM {layers} WHERE {_of_tail('movement_id', item_id)}", tail)


def _of_tail(column: str, item_id: int) -> str:
    """`column` is the id of a movement of the tail (parameters: item, date, date, id): SQLite's unwind."""
    return f"{column} IN ({_tail_ids(item_id)})"


def _state_before(item: StockItem, date_param, movement_id: int) -> tuple[ItemValuation, int]:
    """The valuation state after the movement before `start` (its open layers read lazily), and its rank."""
    rows = select(
        f"SELECT f.balance_after, f.running_value, f.average_cost_after, f.{q('rank')}"
        f" FROM {table(StockMovement)} m JOIN {table(MovementFigures)} f ON f.movement_id = m.id"
        f" WHERE m.stock_item_id = %s AND (m.movement_date, m.id) < (%s, %s)"
        f" ORDER BY m.movement_date DESC, m.id DESC LIMIT 1",
        [item.pk, date_param, movement_id],
        (None, MovementFigures._meta.get_field("running_value"), MovementFigures._meta.get_field("average_cost_after"),
         None))
    balance, value, average, rank = rows[0] if rows else (0, ZERO, ZERO, 0)
    # Layers this repost writes get ids above the ceiling: the lazy reads must not take them for old ones.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table(CostLayer)}")
        ceiling = cursor.fetchone()[0]
    state = ItemValuation.at(item, balance=balance, value=value, average=average,
                             batches=io.layer_fetch(item.pk, shortfalls=False, ceiling=ceiling),
                             shortfalls=io.layer_fetch(item.pk, shortfalls=True, ceiling=ceiling))
    return state, rank


def _tail_chunks(item_id: int, date_param, movement_id: int, check: Key | None
                 ) -> Iterator[tuple[list[LedgerRow], dict[int, list]]]:
    """The tail in ledger order with its stored figures, CHUNK rows at a time (keyset: each chunk one index
    range scan), each with the lots its transferred_in legs arrive in. The dates come as text and go back as
    the next chunk's bound: parsing 80,000 timestamps
    costs more than a chunk's writes; whether a row falls under the stock check (`check`, a key) is
    computed by the database."""
    flag = "0"
    params = []
    if check is not None:
        flag = "CASE WHEN (m.movement_date, m.id) >= (%s, %s) THEN 1 ELSE 0 END"
        params = [io.prepared_datetime(check[0]), check[1]]
    figures = ", ".join(f"f.{q(c)}" for c in io.MOVEMENT_FIGURES)
    base = (f"SELECT m.id, m.quantity, m.action, CAST(m.movement_date AS TEXT), {flag}, m.unit_cost_fixed,"
            f" m.source_movement_id, {figures} FROM {table(StockMovement)} m"
            f" JOIN {table(MovementFigures)} f ON f.movement_id = m.id"
            f" WHERE m.stock_item_id = %s AND (m.movement_date, m.id) ")
    order = " ORDER BY m.movement_date, m.id LIMIT %s"
    fields = ([None] * 5 + [StockMovement._meta.get_field(c) for c in ("unit_cost_fixed", "source_movement_id")]
              + [MovementFigures._meta.get_field(c) for c in io.MOVEMENT_FIGURES])
    # Each chunk's successor is sent before the chunk is handed over: the database reads it while the chunk is
    # valued, instead of after (on PostgreSQL, in the caller's pipeline; see `rawsql.select_later`).
    pending = select_later(base + ">= (%s, %s)" + order, [*params, item_id, date_param, movement_id, CHUNK], fields)
    while pending is not None:
        rows = pending()
        chunk = []
        for pk, quantity, action, date, checked, fixed, source, *figures in rows:
            _, rank, balance, price, total, value, average, running = figures
            chunk.append(LedgerRow(pk, quantity, action, date, bool(checked), bool(fixed), source, rank, balance,
                                   price, total, value, average, running, stored=tuple(figures)))
        pending = None
        if len(rows) == CHUNK:
            last = chunk[-1]
            pending = select_later(base + "> (%s, %s)" + order, [*params, item_id, last.date_text, last.pk, CHUNK],
                                   fields)
        yield chunk, io.lots_by_source(row.source_movement_id for row in chunk if row.source_movement_id)


class NewLayers:
    """The layers a repost creates, written once each where it can: on PostgreSQL a new layer gets its id at
    once (consumptions name it) but its row only when it is used up or the repost ends (or when more than
    MAX_OPEN are open: the oldest then), so that the draws of later chunks change it in memory instead of by
    an UPDATE each. With a deep FIFO queue almost every layer
    is drawn chunks after the one that opened it (a 300-day backdate at 100,000 movements updated 26,000
    layers). Their consumptions may be written first: the two tables carry no foreign key constraint
    (models/valuation.py). Elsewhere (SQLite, whose ids come from the INSERT) each chunk's layers are
    written with it."""

    def __init__(self, item_id: int) -> None:
        self.item_id = item_id
        self.open: dict[int, Layer] | None = {} if on_postgresql() else None

    def write(self, posting) -> None:
        """Write what the chunk in `posting` did to layers: the ones it created, and those it drew on."""
        if self.open is None:
            io.insert_layers([(self.item_id, layer) for layer in posting.new_layers], timezone.now())
            io.update_layer_remaining(posting.touched_layers.values())
            return
        io.allocate_ids(layers=posting.new_layers)
        self.open.update((layer.id, layer) for layer in posting.new_layers)
        io.update_layer_remaining(layer for pk, layer in posting.touched_layers.items() if pk not in self.open)
        done = [pk for pk, layer in self.open.items() if not layer.remaining]
        # Beyond MAX_OPEN, the oldest are written now and updated by later draws, as stored layers are.
        done += list(itertools.islice((pk for pk, layer in self.open.items() if layer.remaining),
                                      max(0, len(self.open) - len(done) - MAX_OPEN)))
        self._insert([self.open.pop(pk) for pk in done])

    def flush(self) -> None:
        """Write the layers still open at the end of the repost."""
        if self.open:
            self._insert(list(self.open.values()))
            self.open.clear()

    def _insert(self, layers: list[Layer]) -> None:
        io.insert_layers([(self.item_id, layer) for layer in layers], timezone.now())


def _write(state: ItemValuation, changed: list[tuple], layers: NewLayers) -> None:
    """Write what the replay produced since the last write: layers, consumptions, changed figures."""
    posting = state.posting
    layers.write(posting)
    io.insert_consumptions(posting.consumptions)
    io.write_figures(changed)
    posting.clear()


def _outbound_lots(item_id: int, date_param, movement_id: int) -> dict[int, list]:
    """The lots each transferred_out leg of the tail drew, before the repost."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table(StockMovement)} WHERE stock_item_id = %s AND {AT_OR_AFTER}"
                       f" AND action = %s",
                       [item_id, date_param, date_param, movement_id, Action.TRANSFERRED_OUT.value])
        ids = [row[0] for row in cursor.fetchall()]
    lots = io.lots_by_source(ids)
    return {pk: lots.get(pk, []) for pk in ids}


def _dependents(lots_before: dict[int, list]) -> dict[int, Key]:
    """The destination items of the outbound legs whose lots the repost changed, each with the key of its
    earliest such transferred_in leg."""
    if not lots_before:
        return {}
    lots_after = io.lots_by_source(lots_before)
    changed = [pk for pk, lots in lots_before.items() if lots_after.get(pk, []) != lots]
    found: dict[int, Key] = {}
    legs = StockMovement.objects.filter(source_movement_id__in=changed).values_list("stock_item_id",
                                                                                   "movement_date", "pk")
    for item_id, date, pk in legs:
        found[item_id] = min((date, pk), found.get(item_id, (date, pk)))
    return found
