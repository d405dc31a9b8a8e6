"""The ledger family's query parameters as FilterSets (read strictly by StrictFilterBackend): the feed's
filters and the product history's location.

Ids, dates and texts are read as this family has always read them: ids 1 to 2^63-1; ISO 8601 dates where
a date alone covers its whole day and no offset means UTC; exact, NUL-free texts.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django import forms
from django_filters import rest_framework as df
from drf_spectacular.utils import extend_schema_field

from inventory.api.common.errors import BadQuery
from inventory.api.common.filters import ListValueField, SingleValueField
from inventory.api.common.params import MAX_ID
from inventory.api.common.text import ascii_int
from inventory.models import StockMovement

FEED_MAX_LIMIT = 250
# As many ids as a page holds; the cap keeps a crafted request within every database's limits (and two full
# arrays within Django's DATA_UPLOAD_MAX_NUMBER_FIELDS).
MAX_ARRAY = 250

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# An unencoded `+02:00` offset arrives as ` 02:00` (a `+` in a query string means a space).
SPACED_OFFSET = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)$")


class LedgerBadQuery(BadQuery):
    @staticmethod
    def summarize(errors: dict[str, list[str]]) -> str:
        name, messages = next(iter(errors.items()))
        message = f"Invalid query parameter '{name}': {messages[0]}"
        if len(errors) > 1:
            others = ", ".join(f"'{other}'" for other in list(errors)[1:])
            message = f"{message.rstrip('.')}; also invalid: {others}."
        return message


def _whole(text: str) -> int:
    try:
        return ascii_int(text)
    except ValueError:
        raise forms.ValidationError(f"'{text}' is not a whole number.") from None


class IdField(SingleValueField):
    def parse(self, text: str) -> int:
        value = _whole(text)
        if not 1 <= value <= MAX_ID:
            raise forms.ValidationError(f"must be an id from 1 to {MAX_ID}.")
        return value


class IdsField(ListValueField):
    def parse(self, text: str) -> int:
        value = _whole(text)
        if not 1 <= value <= MAX_ID:
            raise forms.ValidationError(f"{value} is not an id (1 to {MAX_ID}).")
        return value


class TextField(SingleValueField):
    def parse(self, text: str) -> str:
        if "\x00" in text:
            raise forms.ValidationError("must not contain NUL characters.")
        return text


class InstantField(SingleValueField):
    """An ISO 8601 date or date-time as (UTC instant, inclusive). A date alone means the start of that day
    (UTC) as a lower bound and the whole of it as an upper bound (exclusive next midnight). A date-time
    without an offset is UTC."""

    def __init__(self, *, upper: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.upper = upper

    def parse(self, raw: str) -> tuple[datetime, bool]:
        text = SPACED_OFFSET.sub(r"\1+\2", raw).upper()  # RFC 3339 allows a lower-case t and z
        try:
            if not text.isascii():  # digits of other scripts
                raise ValueError(text)
            value = datetime.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError(
                f"'{raw}' is not an ISO 8601 date or date-time (e.g. 2024-05-01T12:00:00Z).") from None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        try:
            if DATE_ONLY.match(text) and self.upper:
                return value + timedelta(days=1), False
            return value.astimezone(UTC), True
        except OverflowError:
            # Within a day of the calendar's ends: before, or after, every movement there is.
            return (EARLIEST if value.year == 1 else LATEST), True


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(df.Filter):
    field_class = IdField


@extend_schema_field({"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                      "maxItems": MAX_ARRAY})
class IdsFilter(df.Filter):
    field_class = IdsField

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, lookup_expr="in", max_items=MAX_ARRAY, **kwargs)

    def filter(self, qs, value):
        return super().filter(qs, sorted(set(value)) if value else value)


@extend_schema_field({"type": "string", "pattern": "^[^\\x00]*$"})
class TextFilter(df.Filter):
    field_class = TextField


@extend_schema_field({"type": "string", "format": "date-time"})
class InstantFilter(df.Filter):
    """`<field>_min` (from, inclusive) or `<field>_max` (up to, inclusive; a date alone: that whole day). A
    window whose ends are the wrong way round is empty, not an error."""

    field_class = InstantField

    def __init__(self, field_name: str, *, upper: bool, **kwargs) -> None:
        super().__init__(field_name=field_name, upper=upper, **kwargs)
        self.upper = upper

    def filter(self, qs, value):
        if value is None:
            return qs
        instant, inclusive = value
        lookup = ("lte" if inclusive else "lt") if self.upper else "gte"
        return qs.filter(**{f"{self.field_name}__{lookup}": instant})


class FeedFilter(df.FilterSet):
    """The Katana-style feed's filters. All combine with AND."""

    ids = IdsFilter(field_name="pk")
    variant_ids = IdsFilter(field_name="stock_item__variant_id")
    location_id = IdFilter(field_name="stock_item__stock_location_id")
    resource_type = TextFilter()
    resource_id = TextFilter()
    caused_by_order_no = TextFilter()
    caused_by_resource_id = TextFilter()
    created_at_min = InstantFilter("created_at", upper=False)
    created_at_max = InstantFilter("created_at", upper=True)
    # The movement's updated_at is kept with its figures (a repost moves it).
    updated_at_min = InstantFilter("figures__updated_at", upper=False)
    updated_at_max = InstantFilter("figures__updated_at", upper=True)

    class Meta:
        model = StockMovement
        fields: list[str] = []


class HistoryFilter(df.FilterSet):
    """A product's history: every location, or one."""

    location_id = IdFilter(field_name="stock_item__stock_location_id")

    class Meta:
        model = StockMovement
        fields: list[str] = []
