"""The Django admin for stockroom, one module per concern. Importing this package registers every model.

Every write of stock goes through inventory.services; see base.py for who may do what.
"""

from inventory.admin import (
    allocations,
    catalog,
    geography,
    idempotency,
    ledger,
    site,
    stock,
    transfers,
    valuation,
)

__all__ = ["allocations", "catalog", "geography", "idempotency", "ledger", "site", "stock", "transfers", "valuation"]
