"""Domain exceptions raised by the service layer. Each API family renders them in its own envelope
(422 with `field` as the error key); the admin shows `message`."""

from __future__ import annotations


class StockError(Exception):
    field = "base"
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field

    def as_errors(self) -> dict[str, list[str]]:
        return {self.field: [self.message]}


class InvalidMovement(StockError):
    """The movement itself is malformed: zero quantity, wrong sign for its action, bad date or cost."""


class InsufficientStock(StockError):
    """The movement would take a stock item that is not backorderable below zero."""

    field = "quantity"
    code = "insufficient_stock"


class LocationMismatch(StockError):
    field = "stock_item_id"
    code = "location_mismatch"


class MovementLocked(StockError):
    """The movement belongs to something larger (a transfer, a fulfilled allocation) and cannot change alone."""

    code = "locked"


class AllocationError(StockError):
    field = "quantity"
    code = "allocation"


class Conflict(StockError):
    """Another request is changing the same thing right now (the same Idempotency-Key still running, a stock
    location being used while it is deleted): nothing was written and the request may be sent again in
    `retry_after` seconds. The APIs answer 409 with Retry-After."""

    code = "conflict"
    retry_after = 1
