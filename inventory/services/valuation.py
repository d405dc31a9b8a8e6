"""Valuation: FIFO cost layers or moving average, and the running figures of every movement.

One state machine, `ItemValuation`, values a stock item's movements one at a time in ledger order.
The append path loads the current state from the item and its open layers and applies one movement;
`repost_item` replays the whole ledger of an item from nothing. Both use the same `apply`, so a
ledger built by appending and the same ledger reposted always carry the same figures.

Rules (also in the README):
- Money is Decimal: unit costs are kept to 4 places, totals and values to 2 (ROUND_HALF_UP). The exact
  running value is kept unrounded in the state; only the stored figures are rounded.
- Inbound unit cost: the one given, else the variant's cost price, else the item's running average.
- Batches are always tracked FIFO (CostLayer / LayerConsumption). Under `fifo` the value in stock is the
  sum of the remaining layers and an outbound movement costs what it draws from them; under `average`
  an outbound movement costs quantity x moving average, and value in stock is balance x average.
- Selling short on a backorderable item: the shortfall is costed at the running average (else the
  variant's cost price, else 0) and recorded as a shortfall layer with negative quantities. The next
  inbound units settle shortfall layers first, oldest first; the provisional cost stands.
- Transfers: the transferred_in leg receives one layer per batch the transferred_out leg drew from,
  at that batch's cost (under moving average at the source's average, the cost it issued them at),
  so value moves between locations unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone

from inventory.models import Action, CostLayer, LayerConsumption, StockItem, StockMovement
from inventory.services.errors import InsufficientStock, InvalidMovement
from inventory.services.locking import lock_items

FIFO = "fifo"
AVERAGE = "average"
CENT = Decimal("0.01")
UNIT_COST_PLACES = Decimal("0.0001")
ZERO = Decimal("0")
# Totals and values are stored as DECIMAL(16, 2): anything larger would overflow the column.
MAX_MONEY = Decimal("99999999999999.99")

Lot = tuple[int, Decimal]  # (quantity, unit cost) arriving together

MOVEMENT_FIGURES = [
    "rank",
    "balance_after",
    "value_per_unit",
    "total_cost",
    "value_in_stock_after",
    "average_cost_after",
]


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def unit_cost(amount: Decimal) -> Decimal:
    return amount.quantize(UNIT_COST_PLACES, rounding=ROUND_HALF_UP)


def valuation_method() -> str:
    return settings.STOCKROOM_VALUATION


@dataclass
class Posting:
    """What valuing one movement created or changed, for the caller to write."""

    new_layers: list[CostLayer] = field(default_factory=list)
    consumptions: list[LayerConsumption] = field(default_factory=list)
    touched_layers: list[CostLayer] = field(default_factory=list)


@dataclass
class ItemValuation:
    item: StockItem
    method: str
    balance: int = 0
    value: Decimal = ZERO  # exact, unrounded
    average: Decimal = ZERO  # 4 places
    open_layers: list[CostLayer] = field(default_factory=list)  # oldest first, quantity_remaining != 0
    # Set by repost_item: items whose transferred_in legs took their cost from a transfer out of this
    # item whose cost the repost changed (see repost_with_dependents).
    dependent_item_ids: set[int] = field(default_factory=set)

    @classmethod
    def empty(cls, item: StockItem) -> ItemValuation:
        return cls(item=item, method=valuation_method())

    @classmethod
    def current(cls, item: StockItem, layers: list[CostLayer] | None = None) -> ItemValuation:
        """The state after the item's newest movement, read from the item and its open layers (`layers`:
        those open layers, oldest first, when the caller already loaded them for many items at once)."""
        if layers is None:
            layers = list(CostLayer.objects.filter(stock_item=item).exclude(quantity_remaining=0).order_by("id"))
        state = cls(item=item, method=valuation_method(), balance=item.count_on_hand,
                    average=item.average_cost, open_layers=layers)
        if state.method == FIFO:
            state.value = sum((layer.quantity_remaining * layer.unit_cost for layer in layers), ZERO)
        else:
            state.value = state.balance * state.average
        return state

    @property
    def fallback_cost(self) -> Decimal:
        """Cost for units with no better figure: the running average, else the variant's cost price."""
        if self.average:
            return self.average
        return self.item.variant.cost_price or ZERO

    def default_inbound_cost(self) -> tuple[Decimal, bool]:
        """(unit cost, fixed) for an inbound movement that was given no cost."""
        cost_price = self.item.variant.cost_price
        if cost_price is not None:
            return unit_cost(cost_price), True
        return self.average, False

    def apply(self, movement: StockMovement, lots: Sequence[Lot] | None = None) -> Posting:
        """Value `movement` (the next in ledger order), set its running figures and advance the state."""
        posting = Posting()
        if movement.quantity > 0:
            lots = lots or [(movement.quantity, movement.value_per_unit)]
            total = self._receive(movement, lots, posting)
            movement.value_per_unit = unit_cost(total / movement.quantity)
        else:
            total = self._issue(movement, -movement.quantity, posting)
            movement.value_per_unit = unit_cost(total / -movement.quantity)
        movement.total_cost = money(total)
        if self.method == FIFO and self.balance != 0:
            self.average = unit_cost(self.value / self.balance)
        movement.balance_after = self.balance
        movement.value_in_stock_after = money(self.value)
        movement.average_cost_after = self.average
        if abs(movement.total_cost) > MAX_MONEY or abs(movement.value_in_stock_after) > MAX_MONEY:
            raise InvalidMovement(f"The value of this movement or of the stock after it exceeds {MAX_MONEY}.",
                                  field="quantity")
        return posting

    def _receive(self, movement: StockMovement, lots: Sequence[Lot], posting: Posting) -> Decimal:
        incoming = sum((qty * cost for qty, cost in lots), ZERO)
        balance_before = self.balance
        value_delta = ZERO
        shortfalls = [layer for layer in self.open_layers if layer.quantity_remaining < 0]
        for qty, cost in lots:
            while qty and shortfalls:
                layer = shortfalls[0]
                take = min(qty, -layer.quantity_remaining)
                layer.quantity_remaining += take
                qty -= take
                value_delta += take * layer.unit_cost
                posting.consumptions.append(
                    LayerConsumption(movement=movement, layer=layer, quantity=take, unit_cost=layer.unit_cost)
                )
                self._touch(layer, posting)
                if layer.quantity_remaining == 0:
                    shortfalls.pop(0)
            if qty:
                layer = CostLayer(stock_item=self.item, movement=movement, unit_cost=cost,
                                  quantity_received=qty, quantity_remaining=qty)
                self.open_layers.append(layer)
                posting.new_layers.append(layer)
                value_delta += qty * cost
        self.open_layers = [layer for layer in self.open_layers if layer.quantity_remaining != 0]
        self.balance += movement.quantity
        if self.method == FIFO:
            self.value += value_delta
        else:
            if balance_before <= 0:
                self.average = unit_cost(incoming / movement.quantity)
            else:
                self.average = unit_cost((balance_before * self.average + incoming) / self.balance)
            self.value = self.balance * self.average
        return incoming

    def _issue(self, movement: StockMovement, quantity: int, posting: Posting) -> Decimal:
        drawn_cost = ZERO
        wanted = quantity
        for layer in self.open_layers:
            if not wanted:
                break
            if layer.quantity_remaining <= 0:
                continue
            take = min(wanted, layer.quantity_remaining)
            layer.quantity_remaining -= take
            wanted -= take
            drawn_cost += take * layer.unit_cost
            posting.consumptions.append(
                LayerConsumption(movement=movement, layer=layer, quantity=take, unit_cost=layer.unit_cost)
            )
            self._touch(layer, posting)
        if wanted:
            cost = self.fallback_cost
            shortfall = CostLayer(stock_item=self.item, movement=movement, unit_cost=cost,
                                  quantity_received=-wanted, quantity_remaining=-wanted)
            posting.new_layers.append(shortfall)
            posting.consumptions.append(
                LayerConsumption(movement=movement, layer=shortfall, quantity=wanted, unit_cost=cost)
            )
            drawn_cost += wanted * cost
            self.open_layers.append(shortfall)
        self.open_layers = [layer for layer in self.open_layers if layer.quantity_remaining != 0]
        self.balance -= quantity
        if self.method == FIFO:
            self.value -= drawn_cost
            return drawn_cost
        if not self.average:
            self.average = self.fallback_cost
        self.value = self.balance * self.average
        return quantity * self.average

    @staticmethod
    def _touch(layer: CostLayer, posting: Posting) -> None:
        if layer.pk is not None and layer not in posting.touched_layers:
            posting.touched_layers.append(layer)

    def store_on_item(self) -> None:
        """Copy the state onto the (locked) item's cached figures; the caller saves it."""
        self.item.count_on_hand = self.balance
        self.item.value_in_stock = money(self.value)
        self.item.average_cost = self.average


ITEM_FIGURES = ["count_on_hand", "value_in_stock", "average_cost", "updated_at"]


def transfer_lots(source_movement_id: int) -> list[Lot]:
    """The batches a transferred_out movement drew, as lots for its transferred_in leg."""
    return _lots_by_source([source_movement_id]).get(source_movement_id, [])


def _lots_by_source(source_ids: list[int]) -> dict[int, list[Lot]]:
    lots: dict[int, list[Lot]] = {}
    for consumption in LayerConsumption.objects.filter(movement_id__in=source_ids).order_by("id"):
        lots.setdefault(consumption.movement_id, []).append((consumption.quantity, consumption.unit_cost))
    if valuation_method() == AVERAGE:
        # The source issued the units at its moving average, not at their batch costs: the destination
        # must receive that same value, or value would appear or vanish in transit.
        issued_at = dict(StockMovement.objects.filter(pk__in=lots).values_list("pk", "value_per_unit"))
        lots = {pk: [(qty, issued_at[pk]) for qty, _ in batch] for pk, batch in lots.items()}
    return lots


def repost_item(item: StockItem, *, check_from: tuple | None = None) -> ItemValuation:
    """Rebuild rank, running figures, layers and consumptions of a locked item from its whole ledger.

    `check_from` is a (movement_date, id) key: if the item is not backorderable, no movement at or
    after it may leave the balance below zero (InsufficientStock, and the caller's transaction rolls
    back). Used after backdating, editing or deleting a movement, and by `recount --fix`.
    """
    movements = list(item.movements.order_by("movement_date", "id"))
    stored = {m.pk: _figures(m) for m in movements}
    source_ids = [m.source_movement_id for m in movements if m.source_movement_id]
    lots_by_source = _lots_by_source(source_ids)
    outbound_transfer_ids = [m.pk for m in movements if m.action == Action.TRANSFERRED_OUT]
    lots_before = _lots_by_source(outbound_transfer_ids)

    LayerConsumption.objects.filter(layer__stock_item=item).delete()
    CostLayer.objects.filter(stock_item=item).delete()

    state = ItemValuation.empty(item)
    layers: list[CostLayer] = []
    consumptions: list[LayerConsumption] = []
    for rank, movement in enumerate(movements, start=1):
        movement.rank = rank
        lots = lots_by_source.get(movement.source_movement_id) if movement.source_movement_id else None
        if movement.quantity > 0 and lots is None and not movement.unit_cost_fixed:
            movement.value_per_unit = state.average
        posting = state.apply(movement, lots)
        layers.extend(posting.new_layers)
        consumptions.extend(posting.consumptions)
        if (
            check_from is not None
            and not item.backorderable
            and movement.balance_after < 0
            and (movement.movement_date, movement.pk) >= check_from
        ):
            raise InsufficientStock(
                f"Stock of {item.variant.sku} at {item.stock_location.code} would fall to "
                f"{movement.balance_after} on {movement.movement_date:%Y-%m-%d %H:%M}; the item is not backorderable."
            )

    _write_figures([m for m in movements if _figures(m) != stored[m.pk]])
    CostLayer.objects.bulk_create(layers, batch_size=500)
    LayerConsumption.objects.bulk_create(consumptions, batch_size=500)
    state.store_on_item()
    item.save(update_fields=ITEM_FIGURES)
    if outbound_transfer_ids:
        lots_after = _lots_by_source(outbound_transfer_ids)
        changed = [pk for pk in outbound_transfer_ids if lots_after.get(pk) != lots_before.get(pk)]
        state.dependent_item_ids = set(
            StockMovement.objects.filter(source_movement_id__in=changed).values_list("stock_item_id", flat=True)
        )
    return state


# A transfer chain runs forward in time, so reposting converges; the bound only guards against a bug.
MAX_REPOST_ROUNDS = 50


def repost_with_dependents(item: StockItem, *, check_from: tuple | None = None) -> ItemValuation:
    """`repost_item`, then repost every item downstream of a transfer whose cost changed, so value is
    conserved between a transfer's two legs after a backdated, edited or deleted movement.

    Downstream items are locked after `item` (which the caller holds), in pk order among themselves.
    Their quantities do not change, only their costs, so no stock check is needed on them.
    """
    state = repost_item(item, check_from=check_from)
    pending = set(state.dependent_item_ids)
    for _ in range(MAX_REPOST_ROUNDS):
        if not pending:
            return state
        locked = lock_items(pending)
        pending = set()
        for pk in sorted(locked):
            pending |= repost_item(locked[pk]).dependent_item_ids
    raise RuntimeError("transfer cost reposting did not converge")


def _figures(movement: StockMovement) -> tuple:
    return tuple(getattr(movement, name) for name in MOVEMENT_FIGURES)


def _write_figures(movements: list[StockMovement]) -> None:
    """Store the running figures of the movements a repost changed. One parameterised UPDATE per row
    through executemany: Django's bulk_update builds a CASE expression per row and field, which costs
    seconds of Python for a ledger of a few thousand movements, all under the item lock."""
    if not movements:
        return
    quote = connection.ops.quote_name
    # updated_at moves too, so feed clients syncing by updated_at_min see the new figures.
    assignments = ", ".join(f"{quote(name)} = %s" for name in (*MOVEMENT_FIGURES, "updated_at"))
    sql = f"UPDATE {quote(StockMovement._meta.db_table)} SET {assignments} WHERE id = %s"
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(*_figures(m), now, m.pk) for m in movements])
