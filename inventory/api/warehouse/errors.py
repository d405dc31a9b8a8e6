"""The warehouse family's error envelope: `{"error": "message", "details": {...}}` with the right status.

`details` maps a field (dotted, with `[index]` for list rows: `adjustments[2].actual_quantity`) to its
messages; for 429 it carries `retry_after` (seconds, also in the Retry-After header).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rest_framework import serializers

from inventory.api.common.errors import ApiError, family_handler, flatten
from inventory.services.errors import StockError


def render(error: ApiError) -> dict:
    details: dict = dict(error.errors)
    if error.retry_after is not None:
        details["retry_after"] = error.retry_after
    return {"error": error.message, "details": details}


handler = family_handler(render)


class InvalidRequest(StockError):
    """Request fields that failed validation: 422 with every field's messages in `details`."""

    code = "invalid_request"

    def __init__(self, errors: dict[str, list[str]], message: str | None = None) -> None:
        self.errors = errors
        if message is None:
            field, messages = next(iter(errors.items()), ("body", ["Invalid input."]))
            message = messages[0] if field in ("body", "non_field_errors") else f"{field}: {messages[0]}"
            if len(errors) > 1:
                message += f" (and {len(errors) - 1} more)"
        super().__init__(message)

    def as_errors(self) -> dict[str, list[str]]:
        return self.errors

    @classmethod
    def from_serializer(cls, detail) -> InvalidRequest:
        errors = flatten(detail, root="body")
        if "non_field_errors" in errors:
            errors["body"] = errors.pop("non_field_errors")
        return cls(errors)


def validated(serializer_class: type[serializers.Serializer], data, **context) -> dict:
    """Validate `data` with the serializer, raising InvalidRequest (all fields' messages) when invalid."""
    serializer = serializer_class(data=data, context=context)
    if not serializer.is_valid():
        raise InvalidRequest.from_serializer(serializer.errors)
    return serializer.validated_data


# The service layer names fields after the ledger; this family speaks of products and warehouses.
SERVICE_FIELDS = {
    "variant_id": "product_id",
    "stock_item_id": "product_id",
    "value_per_unit": "cost_per_unit",
    "destination": "destination_warehouse_id",
    "count_on_hand": "actual_quantity",
}


@contextmanager
def family_field_names() -> Iterator[None]:
    """Re-label a service error's field in this family's vocabulary."""
    try:
        yield
    except StockError as exc:
        if exc.field in SERVICE_FIELDS:
            exc.field = SERVICE_FIELDS[exc.field]
        raise
