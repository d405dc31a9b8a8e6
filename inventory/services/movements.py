"""Recording stock movements: the only code that writes the ledger and the stock levels it caches.

Every public function here is one transaction that locks the stock item row first. A movement dated
at or after the newest one is appended and valued on the spot; a backdated one is inserted and the
item's ledger reposted from it onwards (`services.corrections`).

An append costs the same whatever the item's history: it reads the newest movement (one index probe:
its rank, date and exact running value) and only the open cost layers the movement draws from, oldest
first (see `valuation.LayerQueue`), and writes a constant number of statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from inventory.models import Action, MovementFigures, StockItem, StockMovement
from inventory.rawsql import on_postgresql
from inventory.services import ledger_io as io
from inventory.services import sql_append
from inventory.services.errors import InvalidMovement, LocationMismatch
from inventory.services.locking import (
    AppendLock,
    ReadWithLock,
    lock_item,
    lock_item_and_transfer_peers,
    lock_item_for_append,
)
from inventory.services.movement_counts import COUNTER_FIELDS, bump
from inventory.services.refs import acting_user, pk_of
from inventory.services.repost import repost_limit, repost_with_dependents
from inventory.services.rules import (
    MAX_QUANTITY,
    NO_CAUSE,
    Cause,
    MovementRequest,
    NewMovement,
    check_balance,
    item_location_problem,
    positive,
    validate_entries,
    validate_quantity,
)
from inventory.services.statement_batch import as_one_statement
from inventory.services.valuation import ITEM_FIGURES, ZERO, ItemValuation


def post_movement(entry: NewMovement, *, user=None) -> StockMovement:
    """Write one movement on an item this transaction has already locked (see `locking`).

    The building block of every service that changes stock; callers outside `inventory.services`
    use `record_movement` and friends instead. A `counted` movement also stamps `last_counted_at`.
    """
    validate_entries([entry])
    return _write(entry, user)


def _write(entry: NewMovement, user, read: ReadWithLock | None = None, *,
           ends_transaction: bool = False) -> StockMovement:
    """Write a validated entry: appended, or inserted and reposted when dated before the item's newest.
    `ends_transaction`: nothing but the commit follows (see `_append`)."""
    last_date = entry.item.last_movement_at
    if entry.movement_date is not None and last_date is not None and entry.movement_date < last_date:
        return _post_backdated(entry, user)
    return _append([entry], user, read, ends_transaction=ends_transaction)[0]


def _post_backdated(entry: NewMovement, user) -> StockMovement:
    """A movement dated before the item's newest one: inserted, then the item's ledger reposted from it on."""
    movement = new_movement(entry, user, entry.movement_date)
    if entry.lots is not None:
        movement.unit_cost_fixed = True
    elif entry.quantity > 0:
        # Without a cost of its own, the repost values it at the running average of its date.
        movement.value_per_unit, movement.unit_cost_fixed = inbound_cost(entry, ItemValuation.at(
            entry.item, balance=0, value=ZERO, average=ZERO, batches=None, shortfalls=None))
    insert_movements([movement], timezone.now())
    key = (movement.movement_date, movement.pk)
    repost_with_dependents(entry.item, key, check_from=key, limit=repost_limit())
    movement.refresh_from_db()
    bump(entry.item, entry.action)
    fields = [*COUNTER_FIELDS]
    if entry.action == Action.COUNTED:
        entry.item.last_counted_at = timezone.now()
        fields.append("last_counted_at")
    entry.item.save(update_fields=fields)
    return movement


def new_movement(entry: NewMovement, user, movement_date: datetime) -> StockMovement:
    return StockMovement(
        stock_item=entry.item,
        stock_location_id=entry.item.stock_location_id,
        quantity=entry.quantity,
        action=entry.action,
        movement_date=movement_date,
        notes=entry.notes or "",
        transfer=entry.transfer,
        source_movement=entry.source_movement,
        created_by=acting_user(user),
        **entry.cause.as_fields(),
    )


def inbound_cost(entry: NewMovement, state: ItemValuation) -> tuple[Decimal, bool]:
    """(unit cost, fixed) of an inbound movement not arriving in lots: the one given, else the default."""
    if entry.value_per_unit is not None:
        return entry.value_per_unit, True
    return state.default_inbound_cost()


def current_state(item: StockItem) -> ItemValuation:
    """The valuation state after the item's newest movement, its open layers read lazily."""
    return ItemValuation.at(item, balance=item.count_on_hand, value=item.running_value, average=item.average_cost,
                            batches=io.layer_fetch(item.pk, shortfalls=False),
                            shortfalls=io.layer_fetch(item.pk, shortfalls=True))


def _append(entries: Sequence[NewMovement], user, read: ReadWithLock | None = None, *,
            ends_transaction: bool = False) -> list[StockMovement]:
    """Value and write validated entries at the end of their items' ledgers, in order.

    The one append path of `post_movement` and `post_many`: where each item's ledger ends is read off the
    locked item (`ledger_io.Tail.of`); movements, figures, layers, consumptions and item figures are
    written by one statement on PostgreSQL (`statement_batch`), whatever the number of entries. `read`: ids
    and open layers read with the lock, used first.
    `ends_transaction`: the caller commits next, so the writes may go with the COMMIT (`ledger_io.pipelined`).
    """
    items = {e.item.pk: e.item for e in entries}
    tails = {pk: io.Tail.of(item) for pk, item in items.items()}
    states = {pk: current_state(item) for pk, item in items.items()}
    _preload_layers(entries, states, read or ReadWithLock())
    now = timezone.now()
    movements: list[StockMovement] = []
    counted: set[int] = set()
    for entry in entries:
        item, state = entry.item, states[entry.item.pk]
        tail = tails[item.pk]
        # Taken under the lock, and never before the newest movement, so concurrent writers append.
        date = entry.movement_date or (max(now, tail.movement_date) if tail.movement_date else now)
        movement = new_movement(entry, user, date)
        movement.rank = tail.rank + 1
        if entry.quantity > 0 and entry.lots is None:
            movement.value_per_unit, movement.unit_cost_fixed = inbound_cost(entry, state)
        elif entry.lots is not None:
            movement.unit_cost_fixed = True
        state.apply(movement, entry.lots)
        state.store_on_item()
        item.last_movement_at = date
        bump(item, entry.action)
        tails[item.pk] = io.Tail(date, movement.rank, state.value)
        if entry.action == Action.COUNTED:
            item.last_counted_at = now
            counted.add(item.pk)
        movements.append(movement)

    layers = [(pk, layer) for pk, state in states.items() for layer in state.posting.new_layers]
    if read is not None:
        for row, pk in zip(movements, read.movement_ids, strict=False):
            row.pk = pk
        for (_, layer), pk in zip(layers, read.layer_ids, strict=False):
            layer.id = pk
    if on_postgresql():
        # Ids first (one statement), then every write sent at once: one round trip for all of them.
        io.allocate_ids(movements, [layer for _, layer in layers])
    for item in items.values():
        item.updated_at = now
    # A count stamps the item; the same UPDATE carries it, as it carries the movement counters.
    fields = [*ITEM_FIGURES, *COUNTER_FIELDS, *(["last_counted_at"] if counted else [])]
    with io.pipelined(until_commit=ends_transaction), as_one_statement():
        insert_movements(movements, now)
        io.insert_layers(layers, now)
        io.update_layer_remaining(layer for state in states.values() for layer in state.posting.touched_layers.values())
        io.insert_consumptions([c for state in states.values() for c in state.posting.consumptions])
        io.update_rows(StockItem, fields, list(items.values()))
    return movements


# Batches read up front for each item an entry draws on: most sales draw one or two.
PRELOAD = 4


def _preload_layers(entries: Sequence[NewMovement], states: dict[int, ItemValuation], read: ReadWithLock) -> None:
    """Read, in one statement per kind, the first open layers of the items whose entries will draw on
    them: batches for outbound entries on items with stock, shortfalls for inbound entries on items short.
    A write on many items (a bulk count) then costs a constant number of statements. Layers the lock
    statement read already (`read.open_layers`) are not read again."""
    for pk, layers in read.open_layers.items():
        (states[pk].shortfalls if read.shortfalls else states[pk].batches).preload(layers, read.asked)
    batches = sorted({e.item.pk for e in entries
                      if e.quantity < 0 and states[e.item.pk].balance > 0 and e.item.pk not in read.open_layers})
    short = sorted({e.item.pk for e in entries
                    if e.quantity > 0 and states[e.item.pk].balance < 0 and e.item.pk not in read.open_layers})
    for ids, shortfalls in ((batches, False), (short, True)):
        if ids:
            for pk, layers in io.prefetch_layers(ids, shortfalls=shortfalls, per_item=PRELOAD).items():
                queue = states[pk].shortfalls if shortfalls else states[pk].batches
                queue.preload(layers, PRELOAD)


def insert_movements(movements: list[StockMovement], now) -> None:
    """INSERT the movements and then their figures (as set on them). With their ids drawn already
    (`ledger_io.allocate_ids`, PostgreSQL) both are plain INSERTs that can be pipelined; else the
    movements' ids come back from RETURNING."""
    for movement in movements:
        movement.created_at = movement.created_at or now
    allocated = all(m.pk for m in movements)
    if not allocated:
        StockMovement.objects.bulk_create(movements)
    figures = []
    for movement in movements:
        row = movement.running_figures
        row.movement = movement  # takes its id
        row.updated_at = now
        figures.append(row)
    if allocated:
        io.insert_instances(StockMovement, movements, with_model=MovementFigures, with_objs=figures)
    else:
        io.insert_instances(MovementFigures, figures)


def record_movement(request: MovementRequest, *, user=None) -> StockMovement:
    """Record one movement of `request.quantity` (signed) on a stock item, in its own transaction.

    With `request.location` (a stock location id) the item must exist and belong to it, else
    LocationMismatch: checked under the item's lock, which spares the caller a SELECT of its own.
    On PostgreSQL a plain append is valued and written by the database in one statement (`sql_append`);
    what it declines is written here.
    """
    if (movement := sql_append.append(request, user=user)) is not None:
        return movement
    item_id = pk_of(request.stock_item)
    location, quantity, action = request.location, request.quantity, request.action
    with transaction.atomic():
        # A dated movement may be backdated, and its repost may flow through transfers (see locking).
        # The APIs render the movement from the locked item, its variant, location and product.
        locked: AppendLock | None = None
        try:
            if request.movement_date is None:
                # BEGIN goes with the lock statement, the writes with the COMMIT: two round trips in all.
                io.pipeline_until_commit()
                inbound = isinstance(quantity, int) and quantity > 0
                locked = lock_item_for_append(item_id, inbound=inbound, open_layers=PRELOAD)
                item = locked.item
            else:
                item = lock_item_and_transfer_peers(item_id, with_product=True)
        except StockItem.DoesNotExist:
            if location is None:
                raise
            item = None
        if location is not None and (problem := item_location_problem(
                item_id, item.stock_location_id if item else None, location)):
            raise LocationMismatch(problem)
        # Validated after the lock so that a wrong item is reported first, as the APIs always did.
        validate_quantity(quantity, action)
        if action in (Action.TRANSFERRED_IN, Action.TRANSFERRED_OUT):
            raise InvalidMovement("Transfers move stock between two locations; use a transfer.", field="action")
        entry = request.entry(item)
        # The rest of `validate_entries` for one entry without lots: its quantity is checked above.
        check_balance(item, item.count_on_hand, quantity)
        # A counted movement stamps last_counted_at itself (see post_movement).
        movement = _write(entry, user, locked.read if locked else None, ends_transaction=True)
        if locked is not None and locked.others_on_hand is not None and item.deleted_at is None:
            # The variant's stock over every location, as the response shows it (`attach_stock_totals`).
            item.variant.stock_total = locked.others_on_hand + item.count_on_hand
            item.variant.stock_backorderable = locked.others_backorderable or item.backorderable
        return movement


def receive(stock_item: StockItem | int, quantity: int, *, user=None, **fields) -> StockMovement:
    """Goods in: `quantity` > 0, valued at `value_per_unit` (else the variant's cost price)."""
    return record_movement(MovementRequest(stock_item=stock_item, quantity=quantity, action=Action.RECEIVED,
                                           **fields), user=user)


def sell(stock_item: StockItem | int, quantity: int, *, user=None, **fields) -> StockMovement:
    """Goods out to a customer: `quantity` > 0 units leave stock (stored as a negative movement)."""
    return record_movement(MovementRequest(stock_item=stock_item, quantity=-positive(quantity), action=Action.SOLD,
                                           **fields), user=user)


ship = sell


def return_items(stock_item: StockItem | int, quantity: int, *, user=None, **fields) -> StockMovement:
    """Customer return: `quantity` > 0 units come back into stock."""
    return record_movement(MovementRequest(stock_item=stock_item, quantity=quantity, action=Action.RETURNED,
                                           **fields), user=user)


def adjust(stock_item: StockItem | int, delta: int, *, user=None, **fields) -> StockMovement:
    """A signed correction (damage, found stock, ...)."""
    return record_movement(MovementRequest(stock_item=stock_item, quantity=delta, action=Action.ADJUSTED,
                                           **fields), user=user)


def set_count(
    stock_item: StockItem | int,
    counted: int,
    *,
    user=None,
    notes: str = "",
    cause: Cause = NO_CAUSE,
) -> StockMovement | None:
    """A physical count: writes the difference from `count_on_hand` as a `counted` movement and stamps
    `last_counted_at`. Returns None (and writes no movement) when the count matches."""
    if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0 or counted > MAX_QUANTITY:
        raise InvalidMovement(f"Counted quantity must be a whole number from 0 to {MAX_QUANTITY}.",
                              field="count_on_hand")
    with transaction.atomic():
        item = lock_item(pk_of(stock_item))
        return apply_count_to_locked(item, counted, user=user, notes=notes, cause=cause)


def apply_count_to_locked(item: StockItem, counted: int, *, user=None, notes: str = "",
                          cause: Cause = NO_CAUSE) -> StockMovement | None:
    """`set_count` for an item already locked by the caller (bulk counts lock many items at once)."""
    delta = counted - item.count_on_hand
    if delta:
        # A counted movement stamps the item itself.
        return post_movement(NewMovement(item, delta, Action.COUNTED, cause, notes), user=user)
    item.last_counted_at = timezone.now()
    item.save(update_fields=["last_counted_at"])
    return None


# --- many movements at once ------------------------------------------------------------------------


def post_many(entries: Sequence[NewMovement], *, user=None) -> list[StockMovement]:
    """Append many movements (dated now) on locked items in a constant number of queries.

    The same rules, rows, running figures, cost layers and consumptions as calling `post_movement` for each
    entry in order (both go through `validate_entries` and `_append`), but the ledger tails are read for
    all items at once: about 8 statements whatever the number of entries, plus a layer read for each item
    an entry draws on. Entries on the same item are applied in order. A refused entry raises before anything
    is written. Counted movements stamp `last_counted_at`, as in `post_movement`.
    """
    if not entries:
        return []
    validate_entries(entries)
    return _append(entries, user)


def apply_counts_to_locked(counts: Sequence[tuple[StockItem, int, str]], *, user=None,
                           cause: Cause = NO_CAUSE) -> list[StockMovement | None]:
    """`apply_count_to_locked` for many (item, counted, notes) at once through `post_many`: one
    `counted` movement per item whose count differs, every item stamped. Each item at most once."""
    now = timezone.now()
    entries, index = [], []
    for n, (item, counted, notes) in enumerate(counts):
        if item.count_on_hand != counted:
            entries.append(NewMovement(item, counted - item.count_on_hand, Action.COUNTED, cause, notes))
            index.append(n)
    results: list[StockMovement | None] = [None] * len(counts)
    for n, movement in zip(index, post_many(entries, user=user), strict=True):
        results[n] = movement
    unchanged = [item for n, (item, _, _) in enumerate(counts) if results[n] is None]
    for item in unchanged:
        item.last_counted_at = now
    io.update_rows(StockItem, ["last_counted_at"], unchanged)
    return results
