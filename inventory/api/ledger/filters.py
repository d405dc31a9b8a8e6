"""Query parameters of the ledger family, read strictly, and the querysets they select.

Every parameter a route does not know is refused (422 naming it), never ignored: a misspelt filter
that silently returned the whole ledger would be worse than an error. Every problem in a request is
reported at once, each under its parameter's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import F, QuerySet

from inventory.models import CostLayer, LayerConsumption, StockMovement
from inventory.services.errors import StockError

# Primary keys are 64-bit; a bigger number can match nothing and would overflow PostgreSQL's bigint.
MAX_ID = 2**63 - 1
FEED_DEFAULT_LIMIT = 50
FEED_MAX_LIMIT = 250
HISTORY_DEFAULT_LIMIT = 100
HISTORY_MAX_LIMIT = 1000
# Deeper than this, narrow the window with created_at/updated_at ranges instead of paging.
MAX_PAGE = 1_000_000
# As many ids as a page holds; the cap keeps a crafted request within every database's limits (and two full
# arrays within Django's DATA_UPLOAD_MAX_NUMBER_FIELDS).
MAX_ARRAY = 250
# DRF's own content negotiation parameter (`?format=json`); not a filter, but not unknown either.
NEGOTIATION_PARAMS = frozenset({"format"})

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# An unencoded `+02:00` offset arrives as ` 02:00` (a `+` in a query string means a space).
SPACED_OFFSET = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)$")


class BadQuery(StockError):
    """One or more bad query parameters: 422, every parameter's messages in the errors detail."""

    code = "invalid_query"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        name, messages = next(iter(errors.items()))
        message = f"Invalid query parameter '{name}': {messages[0]}"
        if len(errors) > 1:
            others = ", ".join(f"'{other}'" for other in list(errors)[1:])
            message = f"{message.rstrip('.')}; also invalid: {others}."
        super().__init__(message, field=name)

    def as_errors(self) -> dict[str, list[str]]:
        return self.errors


class QueryReader:
    """Reads a QueryDict against an allowlist, collecting every error before raising `BadQuery`.

    Array parameters may be repeated (`ids=1&ids=2`), comma lists (`ids=1,2`) or Rails-style
    (`ids[]=1&ids[]=2`), in any mix. A blank value counts as not given.
    """

    def __init__(self, params, *, scalars: set[str], arrays: set[str] = frozenset()) -> None:
        self.params = params
        self.errors: dict[str, list[str]] = {}
        allowed = scalars | arrays | {f"{name}[]" for name in arrays} | NEGOTIATION_PARAMS
        for name in params:
            if name not in allowed:
                self.error(name, "is not a known query parameter.")

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def done(self) -> None:
        if self.errors:
            raise BadQuery(self.errors)

    def _single(self, name: str) -> str | None:
        values = self.params.getlist(name)
        if len(values) > 1:
            self.error(name, "was given more than once.")
            return None
        value = values[0].strip() if values else ""
        return value or None

    def text(self, name: str) -> str | None:
        value = self._single(name)
        if value is not None and "\x00" in value:
            self.error(name, "must not contain NUL characters.")
            return None
        return value

    def _whole(self, name: str, raw: str) -> int | None:
        try:
            return int(raw)
        except ValueError:
            self.error(name, f"'{raw}' is not a whole number.")
            return None

    def ident(self, name: str) -> int | None:
        raw = self._single(name)
        if raw is None:
            return None
        value = self._whole(name, raw)
        if value is not None and not 1 <= value <= MAX_ID:
            self.error(name, f"must be an id from 1 to {MAX_ID}.")
            return None
        return value

    def ids(self, name: str) -> list[int] | None:
        pieces = [piece.strip() for raw in (*self.params.getlist(name), *self.params.getlist(f"{name}[]"))
                  for piece in raw.split(",")]
        pieces = [piece for piece in pieces if piece]
        if not pieces:
            return None
        if len(pieces) > MAX_ARRAY:
            self.error(name, f"takes at most {MAX_ARRAY} ids.")
            return None
        values: list[int] = []
        for piece in pieces:
            value = self._whole(name, piece)
            if value is None:
                continue
            if not 1 <= value <= MAX_ID:
                self.error(name, f"{value} is not an id (1 to {MAX_ID}).")
                continue
            values.append(value)
        return sorted(set(values))

    def count(self, name: str, *, default: int, maximum: int, clamp: bool) -> int:
        raw = self._single(name)
        if raw is None:
            return default
        value = self._whole(name, raw)
        if value is None:
            return default
        if value < 1:
            self.error(name, "must be at least 1.")
            return default
        if value > maximum:
            if clamp:
                return maximum
            self.error(name, f"must be at most {maximum}.")
            return default
        return value

    def instant(self, name: str, *, upper: bool) -> tuple[datetime, bool] | None:
        """An ISO 8601 date or date-time as (UTC instant, inclusive). A date alone means the start of that
        day (UTC) as a lower bound and the whole of it as an upper bound (exclusive next midnight).
        A date-time without an offset is UTC."""
        raw = self._single(name)
        if raw is None:
            return None
        text = SPACED_OFFSET.sub(r"\1+\2", raw).upper()  # RFC 3339 allows a lower-case t and z
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            self.error(name, f"'{raw}' is not an ISO 8601 date or date-time (e.g. 2024-05-01T12:00:00Z).")
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        try:
            if DATE_ONLY.match(text) and upper:
                return value + timedelta(days=1), False
            return value.astimezone(UTC), True
        except OverflowError:
            # Within a day of the calendar's ends: before, or after, every movement there is.
            return (EARLIEST if value.year == 1 else LATEST), True

    def window(self, field: str) -> dict:
        """`FIELD_min` / `FIELD_max` as queryset lookups on `field`. A window with its ends the wrong way
        round is empty, not an error."""
        low = self.instant(f"{field}_min", upper=False)
        high = self.instant(f"{field}_max", upper=True)
        lookups = {}
        if low:
            lookups[f"{field}__gte"] = low[0]
        if high:
            lookups[f"{field}__lte" if high[1] else f"{field}__lt"] = high[0]
        return lookups

    def page(self) -> int:
        return self.count("page", default=1, maximum=MAX_PAGE, clamp=False)


# --- the feed -------------------------------------------------------------------------------------

FEED_TEXT_FILTERS = ("resource_type", "resource_id", "caused_by_order_no", "caused_by_resource_id")
FEED_SCALARS = {"location_id", *FEED_TEXT_FILTERS, "created_at_min", "created_at_max", "updated_at_min",
                "updated_at_max", "limit", "page"}
FEED_ARRAYS = {"ids", "variant_ids"}

FEED_COLUMNS = (
    "id", "resource_type", "resource_id", "caused_by_order_no", "caused_by_resource_id", "movement_date",
    "quantity", "created_at",
)
# Kept with the movement's running figures (inventory.models.MovementFigures).
FEED_FIGURES = ("balance_after", "value_per_unit", "value_in_stock_after", "average_cost_after", "rank",
                "updated_at")


@dataclass(frozen=True)
class Page:
    limit: int
    page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def rows(self, matching: QuerySet, order: tuple[str, ...], fetch: QuerySet) -> tuple[list, bool]:
        """This page of `matching` in `order`, read through `fetch`, and whether another page follows (one
        extra row is read to know). One SQL statement: the page's ids are chosen first, where an index can
        often answer alone, and only those rows are then read (a deferred join)."""
        page_ids = matching.order_by(*order).values("pk")[self.offset:self.offset + self.limit + 1]
        rows = list(fetch.filter(pk__in=page_ids).order_by(*order))
        return rows[:self.limit], len(rows) > self.limit


@dataclass(frozen=True)
class FeedQuery:
    lookups: dict
    page: Page


def read_feed_query(params) -> FeedQuery:
    reader = QueryReader(params, scalars=FEED_SCALARS, arrays=FEED_ARRAYS)
    lookups: dict = {}
    if (ids := reader.ids("ids")) is not None:
        lookups["pk__in"] = ids
    if (variant_ids := reader.ids("variant_ids")) is not None:
        lookups["stock_item__variant_id__in"] = variant_ids
    if (location_id := reader.ident("location_id")) is not None:
        lookups["stock_item__stock_location_id"] = location_id
    for name in FEED_TEXT_FILTERS:
        if (value := reader.text(name)) is not None:
            lookups[name] = value
    lookups.update(reader.window("created_at"))
    lookups.update({f"figures__{lookup}": value for lookup, value in reader.window("updated_at").items()})
    limit = reader.count("limit", default=FEED_DEFAULT_LIMIT, maximum=FEED_MAX_LIMIT, clamp=True)
    page = reader.page()
    reader.done()
    return FeedQuery(lookups, Page(limit, page))


FEED_ORDER = ("-created_at", "-id")


def feed_rows(query: FeedQuery) -> tuple[list[dict], bool]:
    """The page's movements as dicts, newest recorded first, with the stock item's variant and location
    joined in. (created_at, id) is a total order, so pages never overlap or skip rows."""
    fetch = StockMovement.objects.values(*FEED_COLUMNS, variant_id=F("stock_item__variant_id"),
                                         location_id=F("stock_item__stock_location_id"),
                                         **{name: F(f"figures__{name}") for name in FEED_FIGURES})
    return query.page.rows(StockMovement.objects.filter(**query.lookups), FEED_ORDER, fetch)


# --- the product history --------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryQuery:
    location_id: int | None
    page: Page


def read_history_query(params) -> HistoryQuery:
    reader = QueryReader(params, scalars={"location_id", "limit", "page"})
    location_id = reader.ident("location_id")
    limit = reader.count("limit", default=HISTORY_DEFAULT_LIMIT, maximum=HISTORY_MAX_LIMIT, clamp=True)
    page = reader.page()
    reader.done()
    return HistoryQuery(location_id, Page(limit, page))


HISTORY_ORDER = ("-movement_date", "-id")


def history_movements(variant_id: int, query: HistoryQuery) -> tuple[list[StockMovement], bool]:
    """The variant's movements at every location (or one), in reverse ledger order: newest movement_date
    first, so an EXIT always sits above the ENTRY batches it drew from."""
    matching = StockMovement.objects.filter(stock_item__variant_id=variant_id)
    if query.location_id is not None:
        matching = matching.filter(stock_item__stock_location_id=query.location_id)
    fetch = StockMovement.objects.select_related("created_by", "figures").only(
        "id", "quantity", "action", "figures__value_per_unit", "figures__total_cost", "notes", "created_at",
        "movement_date", "created_by__username", "created_by__first_name", "created_by__last_name",
    )
    return query.page.rows(matching, HISTORY_ORDER, fetch)


def history_batches(movement_ids: list[int]) -> dict[int, list[int]]:
    """movement id -> ids of the FIFO batches it created (inbound, or a shortfall batch when selling short)
    or drew from / settled, oldest first. Two queries whatever the number of movements."""
    batches: dict[int, set[int]] = {}
    created = CostLayer.objects.filter(movement_id__in=movement_ids).order_by().values_list("movement_id", "id")
    drawn = (LayerConsumption.objects.filter(movement_id__in=movement_ids).order_by()
             .values_list("movement_id", "layer_id"))
    for movement_id, layer_id in (*created, *drawn):
        batches.setdefault(movement_id, set()).add(layer_id)
    return {movement_id: sorted(ids) for movement_id, ids in batches.items()}
