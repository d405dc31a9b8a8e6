"""Request fields the families share. They parse types; the rules themselves are the services' (one
source: inventory/services/rules.py), applied here only so that a refused body lists every problem."""

from __future__ import annotations

import copy

from django.core.validators import MaxValueValidator, MinValueValidator
from rest_framework import serializers

from inventory.models import Action
from inventory.services.errors import InvalidMovement
from inventory.services.rules import MAX_QUANTITY, validate_quantity


class MovementQuantity(serializers.IntegerField):
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
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}
