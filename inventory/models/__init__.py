from inventory.models.actions import ACTION_SIGN, Action
from inventory.models.allocations import Allocation
from inventory.models.catalog import Product, Variant
from inventory.models.idempotency import IdempotencyRecord
from inventory.models.ledger import FIGURE_FIELDS, MovementAudit, MovementFigures, StockMovement
from inventory.models.stock import Country, State, StockItem, StockLocation
from inventory.models.transfers import StockTransfer
from inventory.models.valuation import CostLayer, LayerConsumption

__all__ = [
    "ACTION_SIGN",
    "FIGURE_FIELDS",
    "Action",
    "Allocation",
    "CostLayer",
    "Country",
    "IdempotencyRecord",
    "LayerConsumption",
    "MovementAudit",
    "MovementFigures",
    "Product",
    "State",
    "StockItem",
    "StockLocation",
    "StockMovement",
    "StockTransfer",
    "Variant",
]
