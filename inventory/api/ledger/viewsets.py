"""Read-only viewsets of the ledger: the Katana-style movement feed and a product's FIFO history.

Both are thin: the filter backend reads the query strictly (`filters`), the selectors read a page with a
constant number of queries, the serializers render. Viewers and up may read; every failure is answered in
the route's own envelope (`errors`), including crashes, which are logged and answered 500 in JSON.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from inventory.api.common.errors import FamilyErrorsMixin
from inventory.api.common.filters import StrictFilterBackend
from inventory.api.common.metadata import FamilyMetadata
from inventory.api.common.pagination import LedgerPagination
from inventory.api.common.params import MAX_ID
from inventory.api.common.schema import FamilyAutoSchema
from inventory.api.ledger.errors import history_handler, katana_handler
from inventory.api.ledger.filters import FEED_MAX_LIMIT, MAX_ARRAY, FeedFilter, HistoryFilter, LedgerBadQuery
from inventory.api.ledger.schema import HISTORY_ERRORS, KATANA_ERRORS
from inventory.api.ledger.serializers import (
    FeedMovementSerializer,
    FeedSerializer,
    HistoryEntrySerializer,
    history_entry,
)
from inventory.models import StockMovement, Variant
from inventory.selectors import feed

FEED_DEFAULT_LIMIT = 50
HISTORY_DEFAULT_LIMIT = 100
HISTORY_MAX_LIMIT = 1000
# Deeper than this, narrow the window with created_at/updated_at ranges instead of paging.
MAX_PAGE = 1_000_000


class FeedPagination(LedgerPagination):
    default_size, max_size, max_page = FEED_DEFAULT_LIMIT, FEED_MAX_LIMIT, MAX_PAGE

    def get_paginated_response(self, data) -> Response:
        return super().get_paginated_response({"data": data})


class HistoryPagination(LedgerPagination):
    default_size, max_size, max_page = HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT, MAX_PAGE


class LedgerViewSet(FamilyErrorsMixin, GenericViewSet):
    metadata_class = FamilyMetadata
    http_method_names = ["get", "head", "options"]
    schema = FamilyAutoSchema()
    filter_backends = [StrictFilterBackend]
    bad_query_class = LedgerBadQuery


# --- the feed -------------------------------------------------------------------------------------


# Parameter schemas say exactly what is accepted, so a schema-valid request is never refused.
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
TEXT = {"type": "string", "pattern": "^[^\\x00]*$"}
INSTANT = {"type": "string", "format": "date-time"}
LIMIT = {"type": "integer", "minimum": 1}
PAGE = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}


def _ids_param(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, {"type": "array", "items": ID, "maxItems": MAX_ARRAY}, style="form", explode=True,
        description=f"{what}. Repeat it (`{name}=1&{name}=2`), give a comma list (`{name}=1,2`) "
                    f"or use `{name}[]=1&{name}[]=2`; at most {MAX_ARRAY}.",
    )


def _date_param(name: str) -> OpenApiParameter:
    bound = "from" if name.endswith("_min") else "up to"
    return OpenApiParameter(
        name, INSTANT,
        description=f"ISO 8601 date-time, inclusive ({bound}); no offset means UTC. A date alone "
                    f"(2024-05-01) covers that whole day. A bad value is a 422 naming `{name}`.",
    )


FEED_PARAMETERS = [
    _ids_param("ids", "Movement ids"),
    _ids_param("variant_ids", "Variant ids"),
    OpenApiParameter("location_id", ID, description="Stock location id."),
    OpenApiParameter("resource_type", TEXT, description="Exact match, e.g. `SalesOrder`."),
    OpenApiParameter("resource_id", TEXT, description="Exact match."),
    OpenApiParameter("caused_by_order_no", TEXT, description="Exact match, e.g. `SO-1042`."),
    OpenApiParameter("caused_by_resource_id", TEXT, description="Exact match."),
    _date_param("created_at_min"),
    _date_param("created_at_max"),
    _date_param("updated_at_min"),
    _date_param("updated_at_max"),
    OpenApiParameter("limit", {**LIMIT, "default": FEED_DEFAULT_LIMIT},
                     description=f"Rows per page, 1 to {FEED_MAX_LIMIT}; larger values are capped at "
                                 f"{FEED_MAX_LIMIT}, zero, negative or non-numeric values are a 422."),
    OpenApiParameter("page", PAGE, description=f"1 to {MAX_PAGE}."),
]


class InventoryMovementsViewSet(LedgerViewSet):
    error_handler = staticmethod(katana_handler)
    filterset_class = FeedFilter
    pagination_class = FeedPagination
    queryset = StockMovement.objects.order_by(*feed.FEED_ORDER)

    def page_rows(self):
        return feed.feed_rows()

    @extend_schema(
        operation_id="inventory_movements_list",
        summary="Ledger feed (Katana style)",
        description=(
            "Every stock movement, newest recorded first (`created_at` desc, then `id` desc), so a client that "
            "syncs with `created_at_min` / `updated_at_min` sees backdated movements too. Money figures are JSON "
            "numbers. Unknown query parameters are refused with 422. The `X-Pagination` header tells the page, "
            "limit, offset and whether this is the first / last page."
        ),
        tags=["ledger"],
        parameters=FEED_PARAMETERS,
        responses={200: FeedSerializer, **KATANA_ERRORS},
        examples=[
            OpenApiExample("422", status_codes=["422"], response_only=True, value={
                "statusCode": 422, "name": "UnprocessableEntityError",
                "message": "Invalid query parameter 'limit': must be at least 1.",
                "errors": {"limit": ["must be at least 1."]},
            }),
            OpenApiExample("401", status_codes=["401"], response_only=True,
                           value={"statusCode": 401, "name": "UnauthorizedError", "message": "Unauthorized"}),
        ],
    )
    def list(self, request):
        rows = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        render = FeedMovementSerializer.renderer()
        return self.get_paginated_response([render(row) for row in rows])


# --- the product history --------------------------------------------------------------------------

def variant_pk(raw: str) -> int:
    """The path's variant id; anything that is not one is simply not found."""
    try:
        value = int(raw)
    except ValueError:
        raise NotFound() from None
    if not 1 <= value <= MAX_ID:
        raise NotFound()
    return value


class ProductHistoryViewSet(LedgerViewSet):
    error_handler = staticmethod(history_handler)
    filterset_class = HistoryFilter
    pagination_class = HistoryPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator, with no variant in its path
            return StockMovement.objects.none()
        pk = variant_pk(self.kwargs["variant_id"])
        if not Variant.objects.filter(pk=pk).exists():
            raise NotFound()
        return feed.history_matching(pk)

    def page_rows(self):
        return feed.history_rows()

    @extend_schema(
        operation_id="movements_product_history",
        summary="A product's FIFO movement history",
        description=(
            "The variant's movements at every location (or `location_id`), newest first in ledger order "
            "(`movement_date` desc, then id), so an EXIT always sits above the batches it drew from.\n\n"
            "- ENTRY: received, returned, transferred_in. `reference_id` is the id of the FIFO batch it created "
            "(a transfer-in may create several: comma-separated).\n"
            "- EXIT: sold, transferred_out. `quantity` is positive, `total_cost` is the cost of goods that left "
            "and `reference_id` the comma-separated batches it drew from.\n"
            "- ADJUSTMENT: adjusted, counted; `quantity` is signed.\n\n"
            "Money is a decimal string (`unit_price` 4 places, totals 2). Batch ids are renumbered when an "
            "item's ledger is reposted (a backdated, edited or deleted movement)."
        ),
        tags=["ledger"],
        parameters=[
            OpenApiParameter("variant_id", OpenApiTypes.INT, OpenApiParameter.PATH,
                             description="The variant id; anything else is a 404."),
            OpenApiParameter("location_id", ID, description="Only this stock location."),
            OpenApiParameter("limit", {**LIMIT, "default": HISTORY_DEFAULT_LIMIT},
                             description=f"1 to {HISTORY_MAX_LIMIT}; larger values are capped."),
            OpenApiParameter("page", PAGE, description=f"1 to {MAX_PAGE}."),
        ],
        responses={200: HistoryEntrySerializer(many=True), **HISTORY_ERRORS},
    )
    def list(self, request, variant_id: str):
        movements = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        batches = feed.history_batches([m.pk for m in movements])
        pk = variant_pk(variant_id)
        return self.get_paginated_response([history_entry(m, pk, batches.get(m.pk, [])) for m in movements])
