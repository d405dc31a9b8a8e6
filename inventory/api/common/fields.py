"""Request fields the families share. They parse types; the rules themselves are the services' (one
source: inventory/services/rules.py), applied here only so that a refused body lists every problem."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from rest_framework import serializers

from inventory.api.common.dates import EARLIEST_WRITE
from inventory.models import Action
from inventory.services.errors import InvalidMovement
from inventory.services.rules import MAX_QUANTITY, validate_quantity


class _PlainDigits:
    """Numbers written as JSON numbers or in ASCII digits: DRF reads strings with int() and Decimal(), which
    also take full-width and Arabic-Indic digits ("５") and underscores ("1_000")."""

    invalid_key = "invalid"

    def to_internal_value(self, data):
        if isinstance(data, str) and not (data.isascii() and "_" not in data):
            self.fail(self.invalid_key, **self.invalid_kwargs(data))
        return super().to_internal_value(data)

    def invalid_kwargs(self, data) -> dict:
        return {}


class IntegerField(_PlainDigits, serializers.IntegerField):
    pass


class DecimalField(_PlainDigits, serializers.DecimalField):
    pass


class DateTimeField(_PlainDigits, serializers.DateTimeField):
    """A date-time written into the ledger: from EARLIEST_WRITE on (DRF already refuses one that leaves
    the calendar in UTC; the services refuse the future)."""

    def invalid_kwargs(self, data) -> dict:
        return {"format": "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]"}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value < EARLIEST_WRITE:
            raise serializers.ValidationError(f"must be on or after {EARLIEST_WRITE.date().isoformat()}.")
        return value


class PrimaryKeyRelatedField(_PlainDigits, serializers.PrimaryKeyRelatedField):
    invalid_key = "does_not_exist"

    def invalid_kwargs(self, data) -> dict:
        return {"pk_value": data}


class MovementQuantity(IntegerField):
    """A movement's signed quantity: a whole number, judged by the movement rule (never 0, within
    MAX_QUANTITY). The schema shows the rule's bounds."""

    def __init__(self, **kwargs) -> None:
        super().__init__(min_value=-MAX_QUANTITY, max_value=MAX_QUANTITY, **kwargs)
        # The bounds stay for the schema; the rule, not a second copy of it, refuses.
        self.validators = [v for v in self.validators if not isinstance(v, MinValueValidator | MaxValueValidator)]

    def to_internal_value(self, data) -> int:
        value = super().to_internal_value(data)
        try:
            validate_quantity(value, Action.ADJUSTED)  # the sign rules per action are the service's to apply
        except InvalidMovement as exc:
            raise serializers.ValidationError(exc.message) from None
        return value


class InputSerializer(serializers.Serializer):
    """A request body's serializer whose fields are copied shallowly for each request.

    DRF deep-copies the declared fields of every serializer instance (each field is built again from its
    arguments, validators and all): for a movement body that is a tenth of a POST's Python. A body's fields
    hold no per-request state but their binding (name and parent), which a shallow copy gets afresh.
    """

    def get_fields(self) -> dict:
        return {name: _shallow_copy(field) for name, field in self._declared_fields.items()}


def _shallow_copy(field: serializers.Field) -> serializers.Field:
    """`copy.copy(field)` without the pickle protocol it goes through (a third of a small body's validation)."""
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone
