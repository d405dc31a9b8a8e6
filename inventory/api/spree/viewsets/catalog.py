"""Spree catalogue viewsets: products, their variants, stock locations."""

from __future__ import annotations

from django.db import IntegrityError
from rest_framework import status
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from inventory import services
from inventory.api.common.params import flag_param
from inventory.api.spree import filters
from inventory.api.spree import inputs as i
from inventory.api.spree import schema as docs
from inventory.api.spree import serializers as s
from inventory.api.spree.viewsets.base import (
    LOCATIONS,
    PRODUCTS,
    VARIANTS,
    LocationCreateBody,
    LocationIndex,
    LocationScoped,
    LocationUpdateBody,
    ProductCreateBody,
    ProductIndex,
    ProductUpdateBody,
    SpreeViewSet,
    VariantCreateBody,
    VariantIndex,
    VariantUpdateBody,
    get_or_404,
    product_or_404,
    taken,
)
from inventory.models import Product, StockLocation, Variant
from inventory.selectors import stock
from inventory.services import catalog_edits

# --- products and variants -------------------------------------------------------------------------------


class ProductViewSet(ListModelMixin, SpreeViewSet):
    serializer_class = s.SpreeProductSerializer
    ransack = filters.PRODUCTS
    ransack_example = "`q[name_cont]=shirt` or `q[variants_including_master_sku_eq]=ROR-00011`"
    envelope_key = "products"
    lookup_url_kwarg = "product_id"
    lookup_value_converter = "str"  # an id or, as Spree allows, a slug

    def get_queryset(self):
        return stock.products(include_deleted=flag_param(self.request, "show_deleted"))

    def get_object(self, include_deleted: bool = False) -> Product:
        return product_or_404(self.kwargs["product_id"], include_deleted)

    def prepare_rows(self, products) -> None:
        s.attach_stock_totals([v for p in products for v in p.variants.all()])

    def rendered(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        return self.render(stock.products(include_deleted=True).get(pk=pk), code)

    @docs.index(PRODUCTS, ProductIndex, docs.SHOW_DELETED)
    def list(self, request, *args, **kwargs):
        """Products, newest first (not soft-deleted ones unless show_deleted=true)."""
        return super().list(request, *args, **kwargs)

    @docs.create(PRODUCTS, ProductCreateBody, s.SpreeProductSerializer)
    def create(self, request):
        """Create a product and its master variant (admin)."""
        try:
            product = services.create_product(**self.parse(i.SpreeProductCreateSerializer, "product"))
        except IntegrityError:
            raise taken("sku") from None
        return self.rendered(product.pk, status.HTTP_201_CREATED)

    @docs.show(PRODUCTS, s.SpreeProductSerializer, docs.SHOW_DELETED)
    def retrieve(self, request, product_id):
        """One product, by id or slug."""
        return self.render(self.get_object(flag_param(request, "show_deleted")))

    @docs.update(PRODUCTS, ProductUpdateBody, s.SpreeProductSerializer)
    def update(self, request, product_id):
        """Update a product; sku, price and the other variant fields go to its master variant (admin)."""
        product = self.get_object()
        data = self.parse(i.SpreeProductUpdateSerializer, "product", product=product, variant=s.master(product))
        try:
            catalog_edits.update_product(product, **data)
        except IntegrityError:
            raise taken("sku" if "sku" in data else "slug") from None
        return self.rendered(product.pk)

    @docs.update(PRODUCTS, ProductUpdateBody, s.SpreeProductSerializer)
    def partial_update(self, request, product_id):
        """Same as PUT."""
        return self.update(request, product_id)

    @docs.destroy(PRODUCTS)
    def destroy(self, request, product_id):
        """Soft-delete a product and its variants (admin); their stock items and ledger stay."""
        catalog_edits.soft_delete_product(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class VariantRows:
    serializer_class = s.SpreeVariantSerializer

    def prepare_rows(self, variants) -> None:
        s.attach_stock_totals(variants)

    def rendered(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        return self.render(stock.variants(include_deleted=True).get(pk=pk), code)


class ProductVariantViewSet(VariantRows, ListModelMixin, SpreeViewSet):
    """`products/<product_id>/variants`: a product's variants, master included."""

    ransack, ransack_example = filters.VARIANT, "`q[sku_start]=ROR` or `q[is_master_eq]=false`"
    envelope_key = "variants"

    def product(self, include_deleted: bool = False) -> Product:
        return product_or_404(self.kwargs["product_id"], include_deleted)

    def get_queryset(self):
        include_deleted = flag_param(self.request, "show_deleted")
        return stock.variants(include_deleted=include_deleted).filter(product=self.product(include_deleted))

    @docs.index(VARIANTS, VariantIndex, docs.SHOW_DELETED)
    def list(self, request, *args, **kwargs):
        """A product's variants, master included."""
        return super().list(request, *args, **kwargs)

    @docs.create(VARIANTS, VariantCreateBody, s.SpreeVariantSerializer)
    def create(self, request, product_id):
        """Add a variant to a product (admin); it gets a stock item at every propagating location."""
        product = self.product()
        data = self.parse(i.SpreeVariantCreateSerializer, "variant")
        if "price" not in data and (master := s.master(product)) is not None:
            data["price"] = master.price  # Spree: a new variant starts at the master's price
        try:
            variant = services.create_variant(product, **data)
        except IntegrityError:
            raise taken("sku") from None
        return self.rendered(variant.pk, status.HTTP_201_CREATED)


class VariantViewSet(VariantRows, SpreeViewSet):
    lookup_url_kwarg = "variant_id"

    def get_object(self, include_deleted: bool = False) -> Variant:
        return get_or_404(stock.variants(include_deleted=include_deleted), pk=self.kwargs["variant_id"])

    @docs.show(VARIANTS, s.SpreeVariantSerializer, docs.SHOW_DELETED)
    def retrieve(self, request, variant_id):
        """One variant."""
        return self.render(self.get_object(flag_param(request, "show_deleted")))

    @docs.update(VARIANTS, VariantUpdateBody, s.SpreeVariantSerializer)
    def update(self, request, variant_id):
        """Update a variant's catalogue fields (admin)."""
        variant = self.get_object()
        data = self.parse(i.SpreeVariantUpdateSerializer, "variant", variant=variant)
        try:
            catalog_edits.update_variant(variant, **data)
        except IntegrityError:
            raise taken("sku") from None
        return self.rendered(variant.pk)

    @docs.update(VARIANTS, VariantUpdateBody, s.SpreeVariantSerializer)
    def partial_update(self, request, variant_id):
        """Same as PUT."""
        return self.update(request, variant_id)

    @docs.destroy(VARIANTS)
    def destroy(self, request, variant_id):
        """Soft-delete a variant (admin); a master variant goes with its product."""
        catalog_edits.soft_delete_variant(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- stock locations -------------------------------------------------------------------------------------


class StockLocationViewSet(LocationScoped, ListModelMixin, SpreeViewSet):
    serializer_class = s.SpreeStockLocationSerializer
    ransack, ransack_example = filters.STOCK_LOCATIONS, "`q[active_true]=1` or `q[code_eq]=MAIN`"
    envelope_key = "stock_locations"
    lookup_url_kwarg = "location_id"

    def get_queryset(self):
        return StockLocation.objects.select_related("country", "state")

    def get_serializer_class(self):
        return s.SpreeStockLocationRowSerializer if self.action == "list" else s.SpreeStockLocationSerializer

    @docs.index(LOCATIONS, LocationIndex)
    def list(self, request, *args, **kwargs):
        """Stock locations."""
        return super().list(request, *args, **kwargs)

    @docs.create(LOCATIONS, LocationCreateBody, s.SpreeStockLocationSerializer)
    def create(self, request):
        """Create a stock location (admin)."""
        try:
            location = catalog_edits.create_location(**self.parse(i.SpreeStockLocationCreateSerializer,
                                                                  "stock_location"))
        except IntegrityError:
            raise taken("code") from None
        return self.render(location, status.HTTP_201_CREATED)

    @docs.show(LOCATIONS, s.SpreeStockLocationSerializer)
    def retrieve(self, request, location_id):
        """One stock location."""
        return self.render(self.location)

    @docs.update(LOCATIONS, LocationUpdateBody, s.SpreeStockLocationSerializer)
    def update(self, request, location_id):
        """Update a stock location (admin)."""
        location = self.location
        data = self.parse(i.SpreeStockLocationUpdateSerializer, "stock_location", location=location)
        try:
            catalog_edits.update_location(location, **data)
        except IntegrityError:
            raise taken("code") from None
        return self.render(location)

    @docs.update(LOCATIONS, LocationUpdateBody, s.SpreeStockLocationSerializer)
    def partial_update(self, request, location_id):
        """Same as PUT."""
        return self.update(request, location_id)

    @docs.destroy(LOCATIONS)
    def destroy(self, request, location_id):
        """Delete a stock location nothing was ever recorded at (admin); else 422."""
        catalog_edits.delete_location(self.location)
        return Response(status=status.HTTP_204_NO_CONTENT)


