"""Recording stock movements: the only code that writes the ledger and the stock levels it caches.

Every public function here is one transaction that locks the stock item row first. A movement dated
at or after the newest one is valued on the spot (the fast path); a backdated one, and any edit or
deletion, reposts the item's whole ledger so that rank and running figures stay in date order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone

from inventory.models import ACTION_SIGN, Action, CostLayer, LayerConsumption, MovementAudit, StockItem, StockMovement
from inventory.services.errors import InsufficientStock, InvalidMovement, LocationMismatch, MovementLocked
from inventory.services.locking import lock_item, lock_item_and_transfer_peers
from inventory.services.movement_counts import bump
from inventory.services.valuation import (
    ITEM_FIGURES,
    ItemValuation,
    Lot,
    repost_with_dependents,
    unit_cost,
)

# Ledger quantities are 32-bit integers; no single movement or balance may come near the limit.
MAX_QUANTITY = 1_000_000_000
MAX_UNIT_COST = Decimal("9999999999.9999")
# Clock skew tolerated between app servers before a movement counts as dated in the future.
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Cause:
    """What caused a movement; stored on it and searchable in every API family."""

    resource_type: str = ""
    resource_id: str = ""
    caused_by_order_no: str = ""
    caused_by_resource_id: str = ""

    def as_fields(self) -> dict[str, str]:
        return {
            "resource_type": self.resource_type,
            "resource_id": str(self.resource_id or ""),
            "caused_by_order_no": self.caused_by_order_no,
            "caused_by_resource_id": str(self.caused_by_resource_id or ""),
        }


NO_CAUSE = Cause()


def _item_id(stock_item: StockItem | int) -> int:
    return stock_item.pk if isinstance(stock_item, StockItem) else int(stock_item)


def validate_quantity(quantity: int, action: str) -> None:
    if action not in Action.values:
        raise InvalidMovement(f"'{action}' is not a valid action; use one of {', '.join(Action.values)}.",
                              field="action")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidMovement("Quantity must be a whole number.", field="quantity")
    if quantity == 0:
        raise InvalidMovement("Quantity can't be zero.", field="quantity")
    if abs(quantity) > MAX_QUANTITY:
        raise InvalidMovement(f"Quantity must be between -{MAX_QUANTITY} and {MAX_QUANTITY}.", field="quantity")
    sign = ACTION_SIGN[action]
    if sign and (quantity > 0) != (sign > 0):
        direction = "positive" if sign > 0 else "negative"
        raise InvalidMovement(f"Quantity must be {direction} for action '{action}'.", field="quantity")


def validate_unit_cost(value: Decimal | str | int | float | None) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        cost = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidMovement("Unit cost must be a number.", field="value_per_unit") from None
    if not cost.is_finite() or cost < 0 or cost > MAX_UNIT_COST:
        raise InvalidMovement(f"Unit cost must be between 0 and {MAX_UNIT_COST}.", field="value_per_unit")
    return unit_cost(cost)


def validate_movement_date(movement_date: datetime | None) -> datetime | None:
    if movement_date is None:
        return None
    if timezone.is_naive(movement_date):
        raise InvalidMovement("Movement date needs a time zone.", field="movement_date")
    if movement_date > timezone.now() + FUTURE_TOLERANCE:
        raise InvalidMovement("Movement date can't be in the future.", field="movement_date")
    return movement_date


def item_location_problem(item_id: int, item_location_id: int | None, location_id: int) -> str | None:
    """Why stock item `item_id` (at `item_location_id`, None when it does not exist) can't take a
    movement at stock location `location_id`; None when it can."""
    if item_location_id is None:
        return f"Stock item {item_id} does not exist."
    if item_location_id != location_id:
        return f"Stock item {item_id} does not belong to stock location {location_id}."
    return None


def _check_balance(item: StockItem, on_hand: int, quantity: int) -> None:
    new_balance = on_hand + quantity
    if abs(new_balance) > MAX_QUANTITY * 2:
        raise InvalidMovement("The resulting stock level is out of range.", field="quantity")
    if new_balance < 0 and not item.backorderable:
        raise InsufficientStock(
            f"Only {on_hand} of {item.variant.sku} on hand at {item.stock_location.code}; "
            f"the item is not backorderable."
        )


@dataclass(frozen=True)
class NewMovement:
    """One movement to append on an item the caller's transaction has locked (`post_many`)."""

    item: StockItem
    quantity: int
    action: str
    cause: Cause = NO_CAUSE
    notes: str = ""
    # Set by post_movement only: a validated unit cost, a movement date at or after the item's newest
    # movement, the lots of a transferred_in leg and the transfer it belongs to.
    value_per_unit: Decimal | None = None
    movement_date: datetime | None = None
    lots: list[Lot] | None = None
    transfer: object = None
    source_movement: StockMovement | None = None


def validate_entries(entries: Sequence[NewMovement]) -> None:
    """The rules every new movement obeys, entries on one item checked against its running balance."""
    on_hand: dict[int, int] = {}
    for entry in entries:
        validate_quantity(entry.quantity, entry.action)
        if entry.lots is not None and entry.source_movement is None:
            raise InvalidMovement("Only a transferred_in leg arrives in lots.", field="quantity")
        balance = on_hand.get(entry.item.pk, entry.item.count_on_hand)
        _check_balance(entry.item, balance, entry.quantity)
        on_hand[entry.item.pk] = balance + entry.quantity


# The two reads of the append path are written in SQL: building them with the ORM costs more Python
# than anything else a single movement does (about 1 ms of the request's CPU between them).


def ledger_tails(item_ids: Iterable[int]) -> dict[int, tuple[datetime | None, int]]:
    """(movement date, rank) of each item's newest movement, (None, 0) for an item without any.

    Read after the caller's lock statement, so it sees every movement committed before the lock."""
    ids = sorted(set(item_ids))
    tails: dict[int, tuple[datetime | None, int]] = {pk: (None, 0) for pk in ids}
    if not ids:
        return tails
    quote = connection.ops.quote_name
    movements, items = quote(StockMovement._meta.db_table), quote(StockItem._meta.db_table)
    sql = (f"SELECT id, stock_item_id, movement_date, {quote('rank')} FROM {movements} WHERE id IN ("
           f"SELECT (SELECT m.id FROM {movements} m WHERE m.stock_item_id = i.id"
           f" ORDER BY m.movement_date DESC, m.id DESC LIMIT 1)"
           f" FROM {items} i WHERE i.id IN ({', '.join(['%s'] * len(ids))}))")
    for movement in StockMovement.objects.raw(sql, ids):  # raw() still converts the columns
        tails[movement.stock_item_id] = (movement.movement_date, movement.rank)
    return tails


def open_layers(item_ids: Iterable[int]) -> dict[int, list[CostLayer]]:
    """Each item's cost layers with units left (or short), oldest first."""
    ids = sorted(set(item_ids))
    layers: dict[int, list[CostLayer]] = {pk: [] for pk in ids}
    if not ids:
        return layers
    quote = connection.ops.quote_name
    # Not created_at: valuation never reads it, and parsing a timestamp per open layer adds up.
    columns = ", ".join(quote(f.column) for f in CostLayer._meta.concrete_fields if f.name != "created_at")
    sql = (f"SELECT {columns} FROM {quote(CostLayer._meta.db_table)}"
           f" WHERE stock_item_id IN ({', '.join(['%s'] * len(ids))}) AND quantity_remaining <> 0 ORDER BY id")
    for layer in CostLayer.objects.raw(sql, ids):
        layers[layer.stock_item_id].append(layer)
    return layers


def post_movement(
    item: StockItem,
    quantity: int,
    action: str,
    *,
    user=None,
    movement_date: datetime | None = None,
    value_per_unit: Decimal | str | None = None,
    lots: list[Lot] | None = None,
    cause: Cause = NO_CAUSE,
    notes: str = "",
    transfer=None,
    source_movement: StockMovement | None = None,
) -> StockMovement:
    """Write one movement on an item this transaction has already locked (see `locking`).

    The building block of every service that changes stock; callers outside `inventory.services`
    use `record_movement` and friends instead. A `counted` movement also stamps `last_counted_at`.
    """
    entry = NewMovement(item, quantity, action, cause, notes, value_per_unit=validate_unit_cost(value_per_unit),
                        movement_date=validate_movement_date(movement_date), lots=lots, transfer=transfer,
                        source_movement=source_movement)
    validate_entries([entry])
    tails = ledger_tails([item.pk])
    last_date = tails[item.pk][0]
    if entry.movement_date is not None and last_date is not None and entry.movement_date < last_date:
        return _post_backdated(entry, user)
    return _append([entry], user, tails)[0]


def _new_movement(entry: NewMovement, user, movement_date: datetime) -> StockMovement:
    return StockMovement(
        stock_item=entry.item,
        stock_location_id=entry.item.stock_location_id,
        quantity=entry.quantity,
        action=entry.action,
        movement_date=movement_date,
        notes=entry.notes or "",
        transfer=entry.transfer,
        source_movement=entry.source_movement,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        **entry.cause.as_fields(),
    )


def _post_backdated(entry: NewMovement, user) -> StockMovement:
    """A movement dated before the item's newest one: inserted, then the item's ledger reposted."""
    movement = _new_movement(entry, user, entry.movement_date)
    if entry.quantity > 0 and entry.lots is None:
        movement.value_per_unit, movement.unit_cost_fixed = _inbound_cost(entry, ItemValuation.current(entry.item))
    elif entry.lots is not None:
        movement.unit_cost_fixed = True
    movement.save()
    repost_with_dependents(entry.item, check_from=(movement.movement_date, movement.pk))
    movement.refresh_from_db()
    bump(entry.item, entry.action)
    fields = ["movement_counts"]
    if entry.action == Action.COUNTED:
        entry.item.last_counted_at = timezone.now()
        fields.append("last_counted_at")
    entry.item.save(update_fields=fields)
    return movement


def _inbound_cost(entry: NewMovement, state: ItemValuation) -> tuple[Decimal, bool]:
    """(unit cost, fixed) of an inbound movement not arriving in lots: the one given, else the default."""
    if entry.value_per_unit is not None:
        return entry.value_per_unit, True
    return state.default_inbound_cost()


def _append(entries: Sequence[NewMovement], user, tails: dict[int, tuple[datetime | None, int]]
            ) -> list[StockMovement]:
    """Value and write validated entries at the end of their items' ledgers, in order.

    The one append path of `post_movement` and `post_many`: the open layers of all the items are read in
    one query, and movements, layers, consumptions and item figures are each written with one statement
    (INSERT ... RETURNING, or one pipelined executemany of row UPDATEs), whatever the number of entries.
    """
    items = {e.item.pk: e.item for e in entries}
    layers = open_layers(items)
    states = {pk: ItemValuation.current(item, layers[pk]) for pk, item in items.items()}
    now = timezone.now()
    movements: list[StockMovement] = []
    new_layers: list[CostLayer] = []
    touched: dict[int, CostLayer] = {}  # a layer drawn by several entries is written once
    consumptions: list[LayerConsumption] = []
    counted: set[int] = set()
    for entry in entries:
        item, state = entry.item, states[entry.item.pk]
        last_date, last_rank = tails[item.pk]
        # Taken under the lock, and never before the newest movement, so concurrent writers append.
        date = entry.movement_date or (max(now, last_date) if last_date else now)
        movement = _new_movement(entry, user, date)
        movement.rank = last_rank + 1
        if entry.quantity > 0 and entry.lots is None:
            movement.value_per_unit, movement.unit_cost_fixed = _inbound_cost(entry, state)
        elif entry.lots is not None:
            movement.unit_cost_fixed = True
        posting = state.apply(movement, entry.lots)
        new_layers.extend(posting.new_layers)
        touched.update({layer.pk: layer for layer in posting.touched_layers})
        consumptions.extend(posting.consumptions)
        state.store_on_item()
        bump(item, entry.action)
        tails[item.pk] = (date, movement.rank)
        if entry.action == Action.COUNTED:
            item.last_counted_at = now
            counted.add(item.pk)
        movements.append(movement)

    _insert(StockMovement, movements)
    _insert(CostLayer, new_layers)
    _update_rows(CostLayer, ["quantity_remaining"], list(touched.values()))
    _insert(LayerConsumption, consumptions)
    for item in items.values():
        item.updated_at = now
    # A count stamps the item; the same UPDATE carries it, as it carries the movement counters.
    fields = [*ITEM_FIGURES, "movement_counts", *(["last_counted_at"] if counted else [])]
    _update_rows(StockItem, fields, list(items.values()))
    return movements


def _insert(model, objs: list) -> None:
    """INSERT `objs`, their ids set (RETURNING); one by one where the backend can't return them."""
    if not objs:
        return
    if connection.features.can_return_rows_from_bulk_insert:
        model.objects.bulk_create(objs)
    else:
        for obj in objs:
            obj.save(force_insert=True)


def record_movement(
    stock_item: StockItem | int,
    quantity: int,
    action: str,
    *,
    user=None,
    movement_date: datetime | None = None,
    value_per_unit: Decimal | str | None = None,
    cause: Cause = NO_CAUSE,
    notes: str = "",
    location: int | None = None,
) -> StockMovement:
    """Record one movement of `quantity` (signed) on a stock item, in its own transaction.

    With `location` (a stock location id) the item must exist and belong to it, else LocationMismatch:
    checked under the item's lock, which spares the caller a SELECT of its own.
    """
    item_id = _item_id(stock_item)
    with transaction.atomic():
        # A dated movement may be backdated, and its repost may flow through transfers (see locking).
        lock = lock_item_and_transfer_peers if movement_date is not None else lock_item
        try:
            item = lock(item_id, with_product=True)  # the APIs render the movement from it
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
        # A counted movement stamps last_counted_at itself (see post_movement).
        return post_movement(item, quantity, action, user=user, movement_date=movement_date,
                             value_per_unit=value_per_unit, cause=cause, notes=notes)


def receive(stock_item: StockItem | int, quantity: int, **kwargs) -> StockMovement:
    """Goods in: `quantity` > 0, valued at `value_per_unit` (else the variant's cost price)."""
    return record_movement(stock_item, quantity, Action.RECEIVED, **kwargs)


def sell(stock_item: StockItem | int, quantity: int, **kwargs) -> StockMovement:
    """Goods out to a customer: `quantity` > 0 units leave stock (stored as a negative movement)."""
    return record_movement(stock_item, -_positive(quantity), Action.SOLD, **kwargs)


ship = sell


def return_items(stock_item: StockItem | int, quantity: int, **kwargs) -> StockMovement:
    """Customer return: `quantity` > 0 units come back into stock."""
    return record_movement(stock_item, quantity, Action.RETURNED, **kwargs)


def adjust(stock_item: StockItem | int, delta: int, **kwargs) -> StockMovement:
    """A signed correction (damage, found stock, ...)."""
    return record_movement(stock_item, delta, Action.ADJUSTED, **kwargs)


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
        item = lock_item(_item_id(stock_item))
        return apply_count_to_locked(item, counted, user=user, notes=notes, cause=cause)


def apply_count_to_locked(item: StockItem, counted: int, *, user=None, notes: str = "",
                          cause: Cause = NO_CAUSE) -> StockMovement | None:
    """`set_count` for an item already locked by the caller (bulk counts lock many items at once)."""
    delta = counted - item.count_on_hand
    if delta:
        return post_movement(item, delta, Action.COUNTED, user=user, notes=notes, cause=cause)  # stamps the item
    item.last_counted_at = timezone.now()
    item.save(update_fields=["last_counted_at"])
    return None


# --- many movements at once ------------------------------------------------------------------------


def post_many(entries: Sequence[NewMovement], *, user=None) -> list[StockMovement]:
    """Append many movements (dated now) on locked items in a constant number of queries.

    The same rules, rows, running figures, cost layers and consumptions as calling `post_movement` for each
    entry in order (both go through `validate_entries` and `_append`), but the ledger tails and open layers
    are read for all items at once: about 8 statements whatever the number of entries. Entries on the same
    item are applied in order. A refused entry raises before anything is written. Counted movements stamp
    `last_counted_at`, as in `post_movement`.
    """
    if not entries:
        return []
    validate_entries(entries)
    return _append(entries, user, ledger_tails(e.item.pk for e in entries))


def _update_rows(model, fields: list[str], objs: list) -> None:
    """Write `fields` of `objs`, one parameterised UPDATE per row through executemany (pipelined by
    psycopg). Django's bulk_update builds a CASE expression per row and field: three quarters of the
    Python time of a 100-row `post_many`."""
    if not objs:
        return
    quote = connection.ops.quote_name
    columns = [model._meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"
    rows = [(*(field.get_db_prep_save(getattr(obj, field.attname), connection) for field in columns), obj.pk)
            for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


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
    _update_rows(StockItem, ["last_counted_at"], unchanged)
    return results


def _positive(quantity: int) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidMovement("Quantity must be a positive whole number.", field="quantity")
    return quantity


# --- editing the ledger -------------------------------------------------------------------------

EDITABLE_FIELDS = ("quantity", "movement_date", "value_per_unit", "notes", "resource_type", "resource_id",
                   "caused_by_order_no", "caused_by_resource_id")


def snapshot(movement: StockMovement) -> dict:
    """The audit's view of a movement: its editable fields and running figures, JSON-ready."""
    data = {name: getattr(movement, name) for name in (*EDITABLE_FIELDS, "action", "balance_after", "rank")}
    data["movement_date"] = movement.movement_date.isoformat()
    data["value_per_unit"] = str(movement.value_per_unit)
    return data


def _lock_movement(movement: StockMovement | int) -> tuple[StockItem, StockMovement]:
    movement_id = movement.pk if isinstance(movement, StockMovement) else int(movement)
    item_id = StockMovement.objects.values_list("stock_item_id", flat=True).get(pk=movement_id)
    item = lock_item_and_transfer_peers(item_id)  # the edit reposts the item, maybe through its transfers
    locked = StockMovement.objects.get(pk=movement_id)  # re-read under the item lock
    if locked.transfer_id:
        raise MovementLocked("This movement is one leg of a transfer; reverse the transfer instead.")
    if hasattr(locked, "allocation"):
        raise MovementLocked("This movement fulfilled an allocation and can't be changed.")
    return item, locked


def update_movement(
    movement: StockMovement | int,
    *,
    user=None,
    quantity: int | None = None,
    movement_date: datetime | None = None,
    value_per_unit: Decimal | str | None = None,
    notes: str | None = None,
    cause: Cause | None = None,
) -> StockMovement:
    """Edit a movement; the item's ledger is reposted and the change audited (who, when, before, after)."""
    with transaction.atomic():
        item, locked = _lock_movement(movement)
        before = snapshot(locked)
        old_key = (locked.movement_date, locked.pk)
        if quantity is not None:
            validate_quantity(quantity, locked.action)
            locked.quantity = quantity
        if movement_date is not None:
            locked.movement_date = validate_movement_date(movement_date)
        if value_per_unit is not None:
            if locked.quantity < 0:
                raise InvalidMovement("Outbound movements are costed from stock; their unit cost can't be set.",
                                      field="value_per_unit")
            locked.value_per_unit = validate_unit_cost(value_per_unit)
            locked.unit_cost_fixed = True
        if notes is not None:
            locked.notes = notes
        if cause is not None:
            for name, value in cause.as_fields().items():
                setattr(locked, name, value)
        locked.save()
        new_key = (locked.movement_date, locked.pk)
        repost_with_dependents(item, check_from=min(old_key, new_key))
        locked.refresh_from_db()
        MovementAudit.objects.create(movement=locked, movement_ref=locked.pk, stock_item=item,
                                     operation=MovementAudit.Operation.UPDATE, user=_user(user),
                                     before=before, after=snapshot(locked))
        return locked


def delete_movement(movement: StockMovement | int, *, user=None) -> None:
    """Delete a movement; the item's ledger is reposted and the deletion audited."""
    with transaction.atomic():
        item, locked = _lock_movement(movement)
        before = snapshot(locked)
        key = (locked.movement_date, locked.pk)
        MovementAudit.objects.create(movement=None, movement_ref=locked.pk, stock_item=item,
                                     operation=MovementAudit.Operation.DELETE, user=_user(user),
                                     before=before, after=None)
        MovementAudit.objects.filter(movement_ref=locked.pk).update(movement=None)
        locked.delete()
        bump(item, locked.action, -1)
        item.save(update_fields=["movement_counts"])
        repost_with_dependents(item, check_from=key)


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None
