"""The warehouse family's query parameters as FilterSets (read strictly by StrictFilterBackend): levels,
movement history, allocations, and the analytics' period and warehouse.

An id filter that matches no warehouse or product is a 422 naming it, not an empty page.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_filters import rest_framework as df
from drf_spectacular.utils import extend_schema_field

from inventory.api.common.dates import day_end, day_start, utc
from inventory.api.common.filters import SingleValueField
from inventory.api.common.params import MAX_ID
from inventory.api.common.text import ascii_int
from inventory.api.warehouse.serializers import MOVEMENT_TYPES
from inventory.models import Action, Allocation, StockItem, StockLocation, StockMovement, Variant
from inventory.reports import analytics

TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}
ALLOCATION_STATUSES = [status for status, _ in Allocation.Status.choices]


class ExistingIdField(SingleValueField):
    """An id of a row of `model`; one that matches nothing is a mistake worth a 422, not an empty page."""

    def __init__(self, *, model, label_text: str, **kwargs) -> None:
        super().__init__(once=False, **kwargs)
        self.model, self.label_text = model, label_text

    def parse(self, text: str) -> int:
        try:
            value = ascii_int(text)
        except ValueError:
            raise forms.ValidationError(f"'{text}' is not a whole number.") from None
        if value < 1:
            raise forms.ValidationError("must be at least 1.")
        if value > MAX_ID:
            raise forms.ValidationError(f"must be at most {MAX_ID}.")
        if not self.model.objects.filter(pk=value).exists():
            raise forms.ValidationError(f"No {self.label_text} with id {value}.")
        return value


class FlagField(SingleValueField):
    def parse(self, text: str) -> bool:
        value = text.lower()
        if value in TRUE_WORDS:
            return True
        if value in FALSE_WORDS:
            return False
        raise forms.ValidationError(f"'{text}' is not true or false.")

    def to_python(self, values):
        return bool(super().to_python(values))


class ChoiceField(SingleValueField):
    def __init__(self, *, allowed, message, **kwargs) -> None:
        super().__init__(once=False, **kwargs)
        self.allowed, self.message = allowed, message

    def parse(self, text: str) -> str:
        if text not in self.allowed:
            raise forms.ValidationError(self.message.format(text))
        return text


class ExactField(SingleValueField):
    """Matched exactly as given (no stripping: a reference may end in spaces)."""

    def to_python(self, values):
        return values[-1] if values else None


class MomentField(SingleValueField):
    """An ISO date (that whole day, UTC) or date-time (exact; no offset means UTC), in ASCII digits."""

    def parse(self, raw: str):
        if not raw.isascii():  # Django's parsers read any script's digits
            raise forms.ValidationError(f"'{raw}' is not an ISO 8601 date (2024-05-31) or date-time.")
        if "T" in raw and " " in raw:
            raw = raw.replace(" ", "+")  # an unescaped "+01:00" offset arrives as a space
        try:
            # Date first: parse_datetime would read a bare date as midnight, losing "the whole day".
            day = parse_date(raw)
            moment = None if day else parse_datetime(raw)
        except ValueError:
            moment = day = None
        if moment is None and day is None:
            raise forms.ValidationError(f"'{raw}' is not an ISO 8601 date (2024-05-31) or date-time.")
        if day is not None:
            return day
        return utc(moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC))


@extend_schema_field({"type": "integer"})
class IdFilter(df.Filter):
    field_class = ExistingIdField


@extend_schema_field({"type": "boolean"})
class FlagFilter(df.Filter):
    field_class = FlagField

    def __init__(self, condition: Q, **kwargs) -> None:
        super().__init__(**kwargs)
        self.condition = condition

    def filter(self, qs, value):
        return qs.filter(self.condition) if value else qs


@extend_schema_field({"type": "string"})
class ExactFilter(df.Filter):
    field_class = ExactField

    def filter(self, qs, value):
        return qs if value is None else qs.filter(**{self.field_name: value})


@extend_schema_field({"type": "string"})
class DateBoundFilter(df.Filter):
    """`start_date` / `end_date` on movement_date, inclusive: a date covers that whole day."""

    field_class = MomentField

    def __init__(self, *, upper: bool, **kwargs) -> None:
        super().__init__(field_name="movement_date", **kwargs)
        self.upper = upper

    def filter(self, qs, value):
        if value is None:
            return qs
        if isinstance(value, datetime):
            return qs.filter(movement_date__lte=value) if self.upper else qs.filter(movement_date__gte=value)
        if self.upper:
            return qs.filter(movement_date__lt=day_end(value))
        return qs.filter(movement_date__gte=day_start(value))


@extend_schema_field({"type": "string"})
class OneOfFilter(df.Filter):
    field_class = ChoiceField


class MovementTypeFilter(OneOfFilter):
    def __init__(self, **kwargs) -> None:
        super().__init__(
            allowed=[*MOVEMENT_TYPES, *Action.values],
            message=("'{}' is not a movement type; use one of " + ", ".join(MOVEMENT_TYPES) + " or a ledger action ("
                     + ", ".join(Action.values) + ")."), **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        return qs.filter(action__in=MOVEMENT_TYPES[value]) if value in MOVEMENT_TYPES else qs.filter(action=value)


def warehouse_filter(field_name: str) -> IdFilter:
    return IdFilter(field_name=field_name, model=StockLocation, label_text="warehouse")


def product_filter(field_name: str) -> IdFilter:
    return IdFilter(field_name=field_name, model=Variant, label_text="product")


class LevelFilter(df.FilterSet):
    warehouse_id = warehouse_filter("stock_location_id")
    product_id = product_filter("variant_id")
    low_stock = FlagFilter(analytics.LOW_STOCK)
    out_of_stock = FlagFilter(analytics.OUT_OF_STOCK)

    class Meta:
        model = StockItem
        fields: list[str] = []


class MovementFilter(df.FilterSet):
    warehouse_id = warehouse_filter("stock_location_id")
    product_id = product_filter("stock_item__variant_id")
    movement_type = MovementTypeFilter()
    start_date = DateBoundFilter(upper=False)
    end_date = DateBoundFilter(upper=True)
    reference_type = ExactFilter(field_name="resource_type")
    reference_id = ExactFilter(field_name="resource_id")

    class Meta:
        model = StockMovement
        fields: list[str] = []


class AllocationFilter(df.FilterSet):
    warehouse_id = warehouse_filter("stock_item__stock_location_id")
    product_id = product_filter("stock_item__variant_id")
    status = OneOfFilter(field_name="status", allowed=ALLOCATION_STATUSES,
                       message="'{}' is not one of " + ", ".join(ALLOCATION_STATUSES) + ".")
    reference_type = ExactFilter(field_name="reference_type")
    reference_id = ExactFilter(field_name="reference_id")

    class Meta:
        model = Allocation
        fields: list[str] = []


class AnalyticsFilter(df.FilterSet):
    """Not a filter of rows: the report's period and warehouse, read as strictly as the filters are."""

    period = OneOfFilter(allowed=list(analytics.PERIODS),
                       message="'{}' is not a period; use one of " + ", ".join(analytics.PERIODS) + ".")
    warehouse_id = warehouse_filter("stock_location_id")

    class Meta:
        model = StockItem
        fields: list[str] = []
