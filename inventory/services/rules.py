"""The rules every new or edited movement obeys, and the value types the movement services take."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from inventory.models import ACTION_SIGN, Action, StockItem, StockMovement
from inventory.services.errors import InsufficientStock, InvalidMovement
from inventory.services.valuation import MAX_BALANCE, Lot, unit_cost

# Ledger quantities are 32-bit integers; no single movement or balance may come near the limit.
MAX_QUANTITY = 1_000_000_000
MAX_UNIT_COST = Decimal("9999999999.9999")
# Clock skew tolerated between app servers before a movement counts as dated in the future.
FUTURE_TOLERANCE = timedelta(minutes=5)
# The earliest date a movement may carry: far enough back for any real history, far enough from the
# calendar's start (year 1) that no offset or day arithmetic on it can overflow.
EARLIEST_MOVEMENT_DATE = datetime(1900, 1, 1, tzinfo=UTC)


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


@dataclass(frozen=True)
class NewMovement:
    """One movement to write on an item the caller's transaction has locked."""

    item: StockItem
    quantity: int
    action: str
    cause: Cause = NO_CAUSE
    notes: str = ""
    # A validated unit cost; a movement date (None: now); the lots of a transferred_in leg and the
    # transfer it belongs to.
    value_per_unit: Decimal | None = None
    movement_date: datetime | None = None
    lots: list[Lot] | None = None
    transfer: object = None
    source_movement: StockMovement | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class MovementRequest:
    """One movement asked for from outside the services (API, admin, command, test): `record_movement`
    locks the item, checks it against `location` and the rules, and writes it as a `NewMovement`.

    `stock_item` is an item or its id; with `location` (a stock location id) the item must exist and
    belong to it. `value_per_unit` and `movement_date` are raw here and validated once, by `entry`.
    """

    stock_item: StockItem | int
    quantity: int
    action: str
    movement_date: datetime | None = None
    value_per_unit: Decimal | str | None = None
    cause: Cause = NO_CAUSE
    notes: str = ""
    location: int | None = None

    def entry(self, item: StockItem) -> NewMovement:
        """The movement to write on `item`, the request's item as locked by the caller."""
        return NewMovement(item, self.quantity, self.action, self.cause, self.notes,
                           value_per_unit=validate_unit_cost(self.value_per_unit),
                           movement_date=validate_movement_date(self.movement_date))


# Every write checks its action (Action.values builds its list on each use).
ACTIONS = frozenset(Action.values)


def validate_quantity(quantity: int, action: str) -> None:
    if action not in ACTIONS:
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
    # The year first: no UTC arithmetic on a date at the calendar's start.
    if movement_date.year < EARLIEST_MOVEMENT_DATE.year or movement_date < EARLIEST_MOVEMENT_DATE:
        raise InvalidMovement(f"Movement date can't be before {EARLIEST_MOVEMENT_DATE.date().isoformat()}.",
                              field="movement_date")
    return movement_date


def positive(quantity: int) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidMovement("Quantity must be a positive whole number.", field="quantity")
    return quantity


def item_location_problem(item_id: int, item_location_id: int | None, location_id: int) -> str | None:
    """Why stock item `item_id` (at `item_location_id`, None when it does not exist) can't take a
    movement at stock location `location_id`; None when it can."""
    if item_location_id is None:
        return f"Stock item {item_id} does not exist."
    if item_location_id != location_id:
        return f"Stock item {item_id} does not belong to stock location {location_id}."
    return None


def pushes_below_zero(before: int, after: int) -> bool:
    """The rule for items that are not backorderable: a change may not leave the balance below zero and lower
    than it was. An item already short (made non-backorderable while short, or corrected into it) can always
    take stock in, so it never gets stuck; it just can't give out more."""
    return after < 0 and after < before


def check_balance(item: StockItem, on_hand: int, quantity: int) -> None:
    new_balance = on_hand + quantity
    if abs(new_balance) > MAX_BALANCE:
        raise InvalidMovement("The resulting stock level is out of range.", field="quantity")
    if not item.backorderable and pushes_below_zero(on_hand, new_balance):
        raise InsufficientStock(
            f"Only {on_hand} of {item.variant.sku} on hand at {item.stock_location.code}; "
            f"the item is not backorderable."
        )


def validate_entries(entries: Sequence[NewMovement]) -> None:
    """The rules every new movement obeys, entries on one item checked against its running balance."""
    on_hand: dict[int, int] = {}
    for entry in entries:
        validate_quantity(entry.quantity, entry.action)
        if entry.lots is not None and entry.source_movement is None:
            raise InvalidMovement("Only a transferred_in leg arrives in lots.", field="quantity")
        balance = on_hand.get(entry.item.pk, entry.item.count_on_hand)
        check_balance(entry.item, balance, entry.quantity)
        on_hand[entry.item.pk] = balance + entry.quantity
