"""Valuation: FIFO cost layers or moving average, and the running figures of every movement.

One state machine, `ItemValuation`, values a stock item's movements one at a time in ledger order. Its
state is what the ledger stores after the movement before: the balance, the exact running value
(`StockMovement.running_value`) and the average cost, plus the item's open cost layers, which it reads
from the database lazily, oldest first, only as far as a movement draws on them. So valuing a movement
costs what that movement touches, whatever the length of the item's history:
- the append path (`services.movements`) starts from the item and its newest movement;
- a correction (`services.repost`) starts from the movement before the first one it changes, after
  unwinding the cost layers of the movements from there on, and replays only those;
- the reference full rebuild (`services.rebuild`) starts from nothing.
All three use the same `apply`, so a ledger built by appending, corrected, or rebuilt from scratch always
carries the same figures.

Rules (also in docs/ledger.md):
- Money is Decimal: unit costs are kept to 4 places, totals and values to 2 (ROUND_HALF_UP). The exact
  running value is kept unrounded (it always has at most 4 places: quantities times 4-place unit costs)
  in `running_value`; only the figures shown are rounded.
- Inbound unit cost: the one given, else the variant's cost price, else the item's running average.
- Batches are always tracked FIFO (cost layers and consumptions). Under `fifo` the value in stock is the
  sum of the remaining layers and an outbound movement costs what it draws from them; under `average`
  an outbound movement costs quantity x moving average, and value in stock is balance x average.
- Selling short on a backorderable item: the shortfall is costed at the running average (else the
  variant's cost price, else 0) and recorded as a shortfall layer with negative quantities. The next
  inbound units settle shortfall layers first, oldest first; the provisional cost stands.
- Transfers: the transferred_in leg receives one layer per batch the transferred_out leg drew from,
  at that batch's cost (under moving average at the source's average, the cost it issued them at),
  so value moves between locations unchanged.

Open layers never mix signs: a receipt settles every shortfall before it opens a batch, and an issue
draws every batch before it opens a shortfall. With the remaining quantities summing to the balance, an
item with a positive balance has only batches open and one with a negative balance only shortfalls; the
lazy layer queues rely on it to skip a query that could find nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from inventory.models import StockItem
from inventory.services.errors import InvalidMovement

FIFO = "fifo"
AVERAGE = "average"
CENT = Decimal("0.01")
UNIT_COST_PLACES = Decimal("0.0001")
ZERO = Decimal("0")
# Totals and values are stored as DECIMAL(16, 2): anything larger would overflow the column.
MAX_MONEY = Decimal("99999999999999.99")
# Balances and a stock item's totals (count on hand, quantity allocated) are 32-bit integer columns: they stay
# within this bound (twice the largest movement, rules.MAX_QUANTITY), well inside 2**31 - 1, so no running sum
# wraps or overflows, on any row of a reposted ledger too.
MAX_BALANCE = 2_000_000_000

Lot = tuple[int, Decimal]  # (quantity, unit cost) arriving together


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def unit_cost(amount: Decimal) -> Decimal:
    return amount.quantize(UNIT_COST_PLACES, rounding=ROUND_HALF_UP)


def valuation_method() -> str:
    return settings.STOCKROOM_VALUATION


class Layer:
    """A cost layer in memory: a batch (positive quantities) or a shortfall (negative ones).

    `movement` is the id of the movement that created it, or that movement's row while it is not written
    yet (see `movement_id`); `id` is None until the layer is written."""

    __slots__ = ("id", "movement", "unit_cost", "received", "remaining")

    def __init__(self, id: int | None, movement, unit_cost: Decimal, received: int, remaining: int) -> None:
        self.id, self.movement, self.unit_cost = id, movement, unit_cost
        self.received, self.remaining = received, remaining

    @property
    def movement_id(self) -> int:
        return self.movement if isinstance(self.movement, int) else self.movement.pk


class Consumption:
    """`quantity` units of `layer` drawn (or, for a shortfall, settled) by the movement `movement` (a row)."""

    __slots__ = ("movement", "layer", "quantity", "unit_cost")

    def __init__(self, movement, layer: Layer, quantity: int, unit_cost: Decimal) -> None:
        self.movement, self.layer, self.quantity, self.unit_cost = movement, layer, quantity, unit_cost


# fetch(after_id, limit) -> the next stored open layers of one sign with id > after_id, oldest first.
LayerFetch = Callable[[int, int], list[Layer]]


class LayerQueue:
    """An item's open layers of one sign, oldest first: the stored ones, read a batch at a time as the
    valuation reaches them, then those created since (which are always newer)."""

    FIRST_BATCH = 4
    MAX_BATCH = 2000

    def __init__(self, fetch: LayerFetch | None) -> None:
        self._stored: deque[Layer] = deque()
        self._fresh: deque[Layer] = deque()
        self._fetch = fetch
        self._after = 0
        self._batch = self.FIRST_BATCH

    def front(self) -> Layer | None:
        """The oldest layer still open, or None."""
        while True:
            for queue in (self._stored, self._fresh):
                while queue and queue[0].remaining == 0:
                    queue.popleft()
            if self._stored:
                return self._stored[0]
            if self._fetch is None:
                return self._fresh[0] if self._fresh else None
            more = self._fetch(self._after, self._batch)
            if len(more) < self._batch:
                self._fetch = None  # every stored layer is loaded
            if more:
                self._after = more[-1].id
                self._stored.extend(more)
            self._batch = min(self._batch * 4, self.MAX_BATCH)

    def preload(self, layers: list[Layer], asked: int) -> None:
        """Start from `layers`, the first `asked` stored layers read already (fewer: there are no more)."""
        self._stored.extend(layers)
        if layers:
            self._after = layers[-1].id
        if len(layers) < asked:
            self._fetch = None

    def append(self, layer: Layer) -> None:
        self._fresh.append(layer)

    def loaded(self) -> list[Layer]:
        """The open layers read or created so far (a stored layer not reached yet is not among them)."""
        return [layer for layer in (*self._stored, *self._fresh) if layer.remaining]


@dataclass
class Posting:
    """What valuing movements created or changed, for the caller to write."""

    new_layers: list[Layer] = field(default_factory=list)
    consumptions: list[Consumption] = field(default_factory=list)
    touched_layers: dict[int, Layer] = field(default_factory=dict)  # stored layers changed, by id

    def clear(self) -> None:
        self.new_layers.clear()
        self.consumptions.clear()
        self.touched_layers.clear()


@dataclass
class ItemValuation:
    """The valuation state of one stock item between two movements (see the module docstring).

    Rows given to `apply` are StockMovement instances or `services.repost.LedgerRow`s: anything with
    `quantity`, `value_per_unit` and the running figure attributes."""

    item: StockItem
    method: str
    balance: int = 0
    value: Decimal = ZERO  # exact, unrounded (at most 4 places)
    average: Decimal = ZERO  # 4 places
    batches: LayerQueue = field(default_factory=lambda: LayerQueue(None))
    shortfalls: LayerQueue = field(default_factory=lambda: LayerQueue(None))
    posting: Posting = field(default_factory=Posting)

    @classmethod
    def at(cls, item: StockItem, *, balance: int, value: Decimal, average: Decimal,
           batches: LayerFetch | None, shortfalls: LayerFetch | None) -> ItemValuation:
        """The state after a stored movement (its balance, running value and average cost) with the
        layers open at that point read through `batches` / `shortfalls` (None: there are none)."""
        method = valuation_method()
        if method == AVERAGE:
            value = balance * average
        return cls(item=item, method=method, balance=balance, value=value, average=average,
                   batches=LayerQueue(batches if balance > 0 else None),
                   shortfalls=LayerQueue(shortfalls if balance < 0 else None))

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

    def apply(self, row, lots: Sequence[Lot] | None = None) -> None:
        """Value `row` (the next movement in ledger order), set its running figures and advance the state;
        the layers and consumptions it creates or changes are added to `posting`."""
        if row.quantity > 0:
            lots = lots or [(row.quantity, row.value_per_unit)]
            total = self._receive(row, lots)
            row.value_per_unit = unit_cost(total / row.quantity)
        else:
            total = self._issue(row, -row.quantity)
            row.value_per_unit = unit_cost(total / -row.quantity)
        row.total_cost = money(total)
        if self.method == FIFO and self.balance != 0:
            self.average = unit_cost(self.value / self.balance)
        row.balance_after = self.balance
        row.running_value = self.value
        row.value_in_stock_after = money(self.value)
        row.average_cost_after = self.average
        if abs(self.balance) > MAX_BALANCE:
            raise InvalidMovement(f"The resulting stock level is out of range (at most {MAX_BALANCE} either way).",
                                  field="quantity")
        if abs(row.total_cost) > MAX_MONEY or abs(row.value_in_stock_after) > MAX_MONEY:
            raise InvalidMovement(f"The value of this movement or of the stock after it exceeds {MAX_MONEY}.",
                                  field="quantity")

    def _receive(self, row, lots: Sequence[Lot]) -> Decimal:
        incoming = sum((qty * cost for qty, cost in lots), ZERO)
        balance_before = self.balance
        value_delta = ZERO
        for qty, cost in lots:
            while qty and (layer := self.shortfalls.front()) is not None:
                take = min(qty, -layer.remaining)
                self._draw(row, layer, -take)
                qty -= take
                value_delta += take * layer.unit_cost
            if qty:
                layer = Layer(None, row, cost, qty, qty)
                self.batches.append(layer)
                self.posting.new_layers.append(layer)
                value_delta += qty * cost
        self.balance += row.quantity
        if self.method == FIFO:
            self.value += value_delta
        else:
            if balance_before <= 0:
                self.average = unit_cost(incoming / row.quantity)
            else:
                self.average = unit_cost((balance_before * self.average + incoming) / self.balance)
            self.value = self.balance * self.average
        return incoming

    def _issue(self, row, quantity: int) -> Decimal:
        drawn_cost = ZERO
        wanted = quantity
        while wanted and (layer := self.batches.front()) is not None:
            take = min(wanted, layer.remaining)
            self._draw(row, layer, take)
            wanted -= take
            drawn_cost += take * layer.unit_cost
        if wanted:
            cost = self.fallback_cost
            shortfall = Layer(None, row, cost, -wanted, -wanted)
            self.posting.new_layers.append(shortfall)
            self.posting.consumptions.append(Consumption(row, shortfall, wanted, cost))
            drawn_cost += wanted * cost
            self.shortfalls.append(shortfall)
        self.balance -= quantity
        if self.method == FIFO:
            self.value -= drawn_cost
            return drawn_cost
        if not self.average:
            self.average = self.fallback_cost
        self.value = self.balance * self.average
        return quantity * self.average

    def _draw(self, row, layer: Layer, quantity: int) -> None:
        """Take `quantity` units from a batch (or settle -`quantity` of a shortfall)."""
        layer.remaining -= quantity
        self.posting.consumptions.append(Consumption(row, layer, abs(quantity), layer.unit_cost))
        if layer.id is not None:
            self.posting.touched_layers[layer.id] = layer

    def store_on_item(self) -> None:
        """Copy the state onto the (locked) item's cached figures; the caller saves them (ITEM_FIGURES)."""
        self.item.count_on_hand = self.balance
        self.item.value_in_stock = money(self.value)
        self.item.average_cost = self.average
        self.item.running_value = self.value


ITEM_FIGURES = ["count_on_hand", "value_in_stock", "average_cost", "running_value", "last_movement_at", "updated_at"]
