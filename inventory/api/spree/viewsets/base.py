"""What every Spree viewset shares: the family's envelopes, paging, search backend and roles; parsing a
wrapped body; rendering a row (with what it shows beyond its own columns); scoping to a location."""

from __future__ import annotations

from functools import cached_property

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from accounts.models import Role
from inventory.api.common.errors import FamilyErrorsMixin, InvalidParameter
from inventory.api.common.metadata import FamilyMetadata
from inventory.api.common.pagination import SpreePagination
from inventory.api.common.params import MAX_ID
from inventory.api.spree import inputs as i
from inventory.api.spree import schema as docs
from inventory.api.spree import serializers as s
from inventory.api.spree.errors import spree_exception_handler
from inventory.models import Product, StockLocation
from inventory.search.backends import RansackFilter
from inventory.selectors import stock

PRODUCTS = "Spree: products"
VARIANTS = "Spree: variants"
LOCATIONS = "Spree: stock locations"
ITEMS = "Spree: stock items"
MOVEMENTS = "Spree: stock movements"

ProductIndex = s.envelope("products", s.SpreeProductSerializer, "SpreeProductIndex")
VariantIndex = s.envelope("variants", s.SpreeVariantSerializer, "SpreeVariantIndex")
LocationIndex = s.envelope("stock_locations", s.SpreeStockLocationRowSerializer, "SpreeStockLocationIndex")
ItemIndex = s.envelope("stock_items", s.SpreeStockItemDetailSerializer, "SpreeStockItemIndex")
MovementIndex = s.envelope("stock_movements", s.SpreeStockMovementSerializer, "SpreeStockMovementIndex")

ProductCreateBody = s.wrapped("product", i.SpreeProductCreateSerializer, "SpreeProductCreateBody")
ProductUpdateBody = s.wrapped("product", i.SpreeProductUpdateSerializer, "SpreeProductUpdateBody")
VariantCreateBody = s.wrapped("variant", i.SpreeVariantCreateSerializer, "SpreeVariantCreateBody")
VariantUpdateBody = s.wrapped("variant", i.SpreeVariantUpdateSerializer, "SpreeVariantUpdateBody")
LocationCreateBody = s.wrapped("stock_location", i.SpreeStockLocationCreateSerializer, "SpreeStockLocationCreateBody")
LocationUpdateBody = s.wrapped("stock_location", i.SpreeStockLocationUpdateSerializer, "SpreeStockLocationUpdateBody")
ItemCreateBody = s.wrapped("stock_item", i.SpreeStockItemCreateSerializer, "SpreeStockItemCreateBody")
ItemUpdateBody = s.wrapped("stock_item", i.SpreeStockItemUpdateSerializer, "SpreeStockItemUpdateBody")
MovementCreateBody = s.wrapped("stock_movement", i.SpreeStockMovementCreateSerializer, "SpreeStockMovementCreateBody")
MovementUpdateBody = s.wrapped("stock_movement", i.SpreeStockMovementUpdateSerializer, "SpreeStockMovementUpdateBody")


def get_or_404(queryset, **lookup):
    """`queryset.get(**lookup)`, 404 when missing; ids too big for the database are simply not found."""
    if any(isinstance(v, int) and not 0 < v <= MAX_ID for v in lookup.values()):
        raise exceptions.NotFound()
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise exceptions.NotFound() from None


def taken(field: str) -> InvalidParameter:
    """A unique value taken between our check and the insert: the same 422 the check gives."""
    return InvalidParameter(field, "This value is already taken.")


def product_or_404(key: str, include_deleted: bool = False) -> Product:
    """A product by slug or, as Spree allows, by id."""
    qs = stock.products(include_deleted=include_deleted)
    product = qs.filter(slug=key).first()
    # isdigit() alone accepts digits int() refuses ("¹"): ids are plain ASCII digits.
    if product is None and key.isascii() and key.isdigit() and len(key) <= 18:
        product = qs.filter(pk=int(key)).first()
    if product is None:
        raise exceptions.NotFound()
    return product


class SpreeViewSet(FamilyErrorsMixin, GenericViewSet):
    metadata_class = FamilyMetadata
    error_handler = staticmethod(spree_exception_handler)
    schema = docs.SpreeAutoSchema()
    write_role = Role.ADMIN
    filter_backends = [RansackFilter]
    pagination_class = SpreePagination
    lookup_value_converter = "int"

    def parse(self, serializer_class, wrapper: str, **context) -> dict:
        return i.validated(serializer_class, i.unwrap(self.request.data, wrapper), **context)

    def paginate_queryset(self, queryset) -> list:
        rows = super().paginate_queryset(queryset)
        if rows:
            self.prepare_rows(rows)
        return rows

    def prepare_rows(self, rows: list) -> None:
        """Read what a page's rows show beyond their own columns (stock totals), for all rows at once."""

    def render(self, row, code: int = status.HTTP_200_OK) -> Response:
        self.prepare_rows([row])
        return Response(self.get_serializer(row).data, status=code)


class LocationScoped:
    """Resources nested under `stock_locations/<location_id>`: 404 for a location that does not exist."""

    @cached_property
    def location(self) -> StockLocation:
        return get_or_404(StockLocation.objects.all(), pk=self.kwargs["location_id"])


