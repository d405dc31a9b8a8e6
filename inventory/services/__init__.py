"""The service layer: the only code that writes stock movements and stock levels.

Views, the admin, management commands and tests call these functions; nothing else writes.
"""

from inventory.services.catalog import create_product, create_stock_item, create_stock_location, create_variant
from inventory.services.corrections import delete_movement, update_movement
from inventory.services.errors import (
    AllocationError,
    InsufficientStock,
    InvalidMovement,
    LocationMismatch,
    MovementLocked,
    StockError,
)
from inventory.services.movements import (
    adjust,
    receive,
    record_movement,
    return_items,
    sell,
    set_count,
    ship,
)
from inventory.services.rules import Cause, MovementRequest
from inventory.services.transfers import transfer

__all__ = [
    "AllocationError",
    "Cause",
    "InsufficientStock",
    "InvalidMovement",
    "LocationMismatch",
    "MovementLocked",
    "MovementRequest",
    "StockError",
    "adjust",
    "create_product",
    "create_stock_item",
    "create_stock_location",
    "create_variant",
    "delete_movement",
    "receive",
    "record_movement",
    "return_items",
    "sell",
    "set_count",
    "ship",
    "transfer",
    "update_movement",
]
