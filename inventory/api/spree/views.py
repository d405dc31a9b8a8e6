"""Spree v1 API views: parse and authorize, validate with a serializer, call `inventory.services`, render.

Roles (contract section 2): viewers read everything; managers also record stock movements and change a
stock item's count; admins manage products, variants, locations and stock items and may edit or delete
movements.
"""

from __future__ import annotations

from django.db import IntegrityError
from django.db.models import Prefetch
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from inventory import services
from inventory.api.common import FamilyErrorsMixin, InvalidParameter, idempotent
from inventory.api.spree import schema as docs
from inventory.api.spree import searches
from inventory.api.spree import serializers as s
from inventory.api.spree.errors import spree_exception_handler
from inventory.api.spree.pagination import paginate
from inventory.models import Product, StockItem, StockLocation, StockMovement, Variant
from inventory.search import ransack
from inventory.services import catalog_edits, movement_counts
from inventory.services.rules import Cause
from inventory.services.stock_items import delete_stock_item, update_stock_item

PRODUCTS = "Spree: products"
VARIANTS = "Spree: variants"
LOCATIONS = "Spree: stock locations"
ITEMS = "Spree: stock items"
MOVEMENTS = "Spree: stock movements"

ProductIndex = s.envelope("products", s.SpreeProductSerializer, "SpreeProductIndex")
VariantIndex = s.envelope("variants", s.SpreeVariantSerializer, "SpreeVariantIndex")
LocationIndex = s.envelope("stock_locations", s.SpreeStockLocationSerializer, "SpreeStockLocationIndex")
ItemIndex = s.envelope("stock_items", s.SpreeStockItemDetailSerializer, "SpreeStockItemIndex")
MovementIndex = s.envelope("stock_movements", s.SpreeStockMovementSerializer, "SpreeStockMovementIndex")

ProductCreateBody = s.wrapped("product", s.SpreeProductCreateSerializer, "SpreeProductCreateBody")
ProductUpdateBody = s.wrapped("product", s.SpreeProductUpdateSerializer, "SpreeProductUpdateBody")
VariantCreateBody = s.wrapped("variant", s.SpreeVariantCreateSerializer, "SpreeVariantCreateBody")
VariantUpdateBody = s.wrapped("variant", s.SpreeVariantUpdateSerializer, "SpreeVariantUpdateBody")
LocationCreateBody = s.wrapped("stock_location", s.SpreeStockLocationCreateSerializer, "SpreeStockLocationCreateBody")
LocationUpdateBody = s.wrapped("stock_location", s.SpreeStockLocationUpdateSerializer, "SpreeStockLocationUpdateBody")
ItemCreateBody = s.wrapped("stock_item", s.SpreeStockItemCreateSerializer, "SpreeStockItemCreateBody")
ItemUpdateBody = s.wrapped("stock_item", s.SpreeStockItemUpdateSerializer, "SpreeStockItemUpdateBody")
MovementCreateBody = s.wrapped("stock_movement", s.SpreeStockMovementCreateSerializer, "SpreeStockMovementCreateBody")
MovementUpdateBody = s.wrapped("stock_movement", s.SpreeStockMovementUpdateSerializer, "SpreeStockMovementUpdateBody")


# --- helpers -------------------------------------------------------------------------------------------


def get_or_404(queryset, **lookup):
    """`queryset.get(**lookup)`, 404 when missing; ids too big for the database are simply not found."""
    if any(isinstance(v, int) and not 0 < v <= s.MAX_ID for v in lookup.values()):
        raise exceptions.NotFound()
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise exceptions.NotFound() from None


def bool_param(request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return False
    try:
        return ransack.cast_bool(raw)
    except ValueError as exc:
        raise InvalidParameter(name, str(exc)) from None


def parse_search(request, searchable: ransack.Searchable) -> ransack.Search:
    try:
        return ransack.parse(request.query_params, searchable)
    except ransack.SearchError as exc:
        raise exceptions.ValidationError(exc.errors) from None


def refuse_integrity(field: str):
    """A unique value taken between our check and the insert: the same 422 the check gives."""
    return InvalidParameter(field, "This value is already taken.")


def products_queryset(include_deleted: bool = False):
    qs = Product.objects.prefetch_related(
        Prefetch("variants", queryset=Variant.objects.order_by("-is_master", "id"))
    )
    return qs if include_deleted else qs.filter(deleted_at__isnull=True)


def prepare_products(products) -> None:
    s.attach_stock_totals([v for p in products for v in p.variants.all()])


def prepare_variants(variants) -> None:
    s.attach_stock_totals(variants)


def prepare_items(items) -> None:
    s.attach_stock_totals([i.variant for i in items])


def prepare_movements(movements) -> None:
    """The variants' stock totals: from the row query's annotations (`movements_queryset`), else read in
    one query (a movement the service has just written)."""
    fresh = []
    for movement in movements:
        if hasattr(movement, "variant_stock_total"):
            s.take_stock_totals(movement, movement.stock_item.variant)
        else:
            fresh.append(movement.stock_item.variant)
    s.attach_stock_totals(fresh)


def movement_counter(location: StockLocation, terms):
    """A search of the location's movements by action alone is counted from the items' movement counters."""
    actions = movement_counts.actions_searched(terms)
    if actions is None:
        return None
    return lambda: movement_counts.movements_at(location.pk, actions)


def items_queryset():
    return StockItem.objects.select_related("variant__product")


def movements_queryset():
    return StockMovement.objects.select_related("stock_item__variant__product").annotate(
        **s.stock_totals_annotations("stock_item__variant"))


class SpreeView(FamilyErrorsMixin, APIView):
    error_handler = staticmethod(spree_exception_handler)
    write_role = Role.ADMIN
    schema = docs.SpreeAutoSchema()

    def location(self) -> StockLocation:
        return get_or_404(StockLocation.objects.all(), pk=self.kwargs["location_id"])

    def product(self, include_deleted: bool = False) -> Product:
        """A product by id or, as Spree allows, by slug."""
        key = self.kwargs["product_id"]
        qs = products_queryset(include_deleted)
        product = qs.filter(slug=key).first()
        # isdigit() alone accepts digits int() refuses ("¹"): ids are plain ASCII digits.
        if product is None and key.isascii() and key.isdigit() and len(key) <= 18:
            product = qs.filter(pk=int(key)).first()
        if product is None:
            raise exceptions.NotFound()
        return product

    def page(self, request, queryset, searchable, key: str, serializer, prepare, rows=None,
             count_for=None) -> Response:
        """One page of `queryset` searched by `q[...]`. `count_for(terms)` may return a callable giving the
        exact total for that search more cheaply than a COUNT, or None."""
        found = parse_search(request, searchable)
        count = count_for(found.terms) if count_for is not None else None
        page = paginate(request, found.apply(queryset), prepare, rows=rows, count=count)
        return Response(page.envelope(key, serializer(page.items, many=True).data))


def render_product(pk: int) -> dict:
    product = products_queryset(include_deleted=True).get(pk=pk)
    prepare_products([product])
    return s.SpreeProductSerializer(product).data


def render_variant(pk: int) -> dict:
    variant = Variant.objects.select_related("product").get(pk=pk)
    prepare_variants([variant])
    return s.SpreeVariantSerializer(variant).data


def render_item(pk: int) -> dict:
    item = items_queryset().get(pk=pk)
    prepare_items([item])
    return s.SpreeStockItemDetailSerializer(item).data


def render_movement(pk: int) -> dict:
    movement = movements_queryset().get(pk=pk)
    prepare_movements([movement])
    return s.SpreeStockMovementSerializer(movement).data


# --- products ------------------------------------------------------------------------------------------


class ProductListView(SpreeView):
    @docs.index(PRODUCTS, ProductIndex, "`q[name_cont]=shirt` or `q[variants_including_master_sku_eq]=ROR-00011`",
                  docs.SHOW_DELETED)
    def get(self, request):
        """Products, newest first (not soft-deleted ones unless show_deleted=true)."""
        qs = products_queryset(bool_param(request, "show_deleted"))
        return self.page(request, qs, searches.PRODUCTS, "products", s.SpreeProductSerializer, prepare_products)

    @docs.create(PRODUCTS, ProductCreateBody, s.SpreeProductSerializer)
    def post(self, request):
        """Create a product and its master variant (admin)."""
        data = s.validated(s.SpreeProductCreateSerializer, s.unwrap(request.data, "product"))
        try:
            product = services.create_product(**data)
        except IntegrityError:
            raise refuse_integrity("sku") from None
        return Response(render_product(product.pk), status=status.HTTP_201_CREATED)


class ProductDetailView(SpreeView):
    @docs.show(PRODUCTS, s.SpreeProductSerializer, docs.SHOW_DELETED)
    def get(self, request, product_id):
        """One product, by id or slug."""
        product = self.product(bool_param(request, "show_deleted"))
        prepare_products([product])
        return Response(s.SpreeProductSerializer(product).data)

    @docs.update(PRODUCTS, ProductUpdateBody, s.SpreeProductSerializer)
    def put(self, request, product_id):
        """Update a product; sku, price and the other variant fields go to its master variant (admin)."""
        product = self.product()
        master = next((v for v in product.variants.all() if v.is_master), None)
        data = s.validated(s.SpreeProductUpdateSerializer, s.unwrap(request.data, "product"),
                           product=product, variant=master)
        try:
            catalog_edits.update_product(product, **data)
        except IntegrityError:
            raise refuse_integrity("sku" if "sku" in data else "slug") from None
        return Response(render_product(product.pk))

    @docs.update(PRODUCTS, ProductUpdateBody, s.SpreeProductSerializer)
    def patch(self, request, product_id):
        """Same as PUT."""
        return self.put(request, product_id)

    @docs.destroy(PRODUCTS)
    def delete(self, request, product_id):
        """Soft-delete a product and its variants (admin); their stock items and ledger stay."""
        catalog_edits.soft_delete_product(self.product())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- variants ------------------------------------------------------------------------------------------


class ProductVariantListView(SpreeView):
    @docs.index(VARIANTS, VariantIndex, "`q[sku_start]=ROR` or `q[is_master_eq]=false`", docs.SHOW_DELETED)
    def get(self, request, product_id):
        """A product's variants, master included."""
        include_deleted = bool_param(request, "show_deleted")
        product = self.product(include_deleted)
        qs = Variant.objects.filter(product=product).select_related("product")
        if not include_deleted:
            qs = qs.filter(deleted_at__isnull=True)
        return self.page(request, qs, searches.VARIANT, "variants", s.SpreeVariantSerializer, prepare_variants)

    @docs.create(VARIANTS, VariantCreateBody, s.SpreeVariantSerializer)
    def post(self, request, product_id):
        """Add a variant to a product (admin); it gets a stock item at every propagating location."""
        product = self.product()
        data = s.validated(s.SpreeVariantCreateSerializer, s.unwrap(request.data, "variant"))
        if "price" not in data:
            master = next((v for v in product.variants.all() if v.is_master), None)
            if master is not None:
                data["price"] = master.price  # Spree: a new variant starts at the master's price
        try:
            variant = services.create_variant(product, **data)
        except IntegrityError:
            raise refuse_integrity("sku") from None
        return Response(render_variant(variant.pk), status=status.HTTP_201_CREATED)


class VariantDetailView(SpreeView):
    def variant(self, include_deleted: bool = False) -> Variant:
        qs = Variant.objects.select_related("product")
        if not include_deleted:
            qs = qs.filter(deleted_at__isnull=True)
        return get_or_404(qs, pk=self.kwargs["variant_id"])

    @docs.show(VARIANTS, s.SpreeVariantSerializer, docs.SHOW_DELETED)
    def get(self, request, variant_id):
        """One variant."""
        variant = self.variant(bool_param(request, "show_deleted"))
        prepare_variants([variant])
        return Response(s.SpreeVariantSerializer(variant).data)

    @docs.update(VARIANTS, VariantUpdateBody, s.SpreeVariantSerializer)
    def put(self, request, variant_id):
        """Update a variant's catalogue fields (admin)."""
        variant = self.variant()
        data = s.validated(s.SpreeVariantUpdateSerializer, s.unwrap(request.data, "variant"), variant=variant)
        try:
            catalog_edits.update_variant(variant, **data)
        except IntegrityError:
            raise refuse_integrity("sku") from None
        return Response(render_variant(variant.pk))

    @docs.update(VARIANTS, VariantUpdateBody, s.SpreeVariantSerializer)
    def patch(self, request, variant_id):
        """Same as PUT."""
        return self.put(request, variant_id)

    @docs.destroy(VARIANTS)
    def delete(self, request, variant_id):
        """Soft-delete a variant (admin); a master variant goes with its product."""
        catalog_edits.soft_delete_variant(self.variant())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- stock locations -------------------------------------------------------------------------------------


class StockLocationListView(SpreeView):
    @docs.index(LOCATIONS, LocationIndex, "`q[active_true]=1` or `q[code_eq]=MAIN`")
    def get(self, request):
        """Stock locations."""
        return self.page(request, StockLocation.objects.all(), searches.STOCK_LOCATIONS, "stock_locations",
                         s.SpreeStockLocationSerializer, None)

    @docs.create(LOCATIONS, LocationCreateBody, s.SpreeStockLocationSerializer)
    def post(self, request):
        """Create a stock location (admin)."""
        data = s.validated(s.SpreeStockLocationCreateSerializer, s.unwrap(request.data, "stock_location"))
        try:
            location = catalog_edits.create_location(**data)
        except IntegrityError:
            raise refuse_integrity("code") from None
        return Response(s.SpreeStockLocationSerializer(location).data, status=status.HTTP_201_CREATED)


class StockLocationDetailView(SpreeView):
    @docs.show(LOCATIONS, s.SpreeStockLocationSerializer)
    def get(self, request, location_id):
        """One stock location."""
        return Response(s.SpreeStockLocationSerializer(self.location()).data)

    @docs.update(LOCATIONS, LocationUpdateBody, s.SpreeStockLocationSerializer)
    def put(self, request, location_id):
        """Update a stock location (admin)."""
        location = self.location()
        data = s.validated(s.SpreeStockLocationUpdateSerializer, s.unwrap(request.data, "stock_location"),
                           location=location)
        try:
            catalog_edits.update_location(location, **data)
        except IntegrityError:
            raise refuse_integrity("code") from None
        return Response(s.SpreeStockLocationSerializer(location).data)

    @docs.update(LOCATIONS, LocationUpdateBody, s.SpreeStockLocationSerializer)
    def patch(self, request, location_id):
        """Same as PUT."""
        return self.put(request, location_id)

    @docs.destroy(LOCATIONS)
    def delete(self, request, location_id):
        """Delete a stock location nothing was ever recorded at (admin); else 422."""
        catalog_edits.delete_location(self.location())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- stock items -------------------------------------------------------------------------------------------


class StockItemListView(SpreeView):
    @docs.index(ITEMS, ItemIndex, "`q[variant_sku_eq]=ROR-00011` or `q[count_on_hand_lt]=5`")
    def get(self, request, location_id):
        """The location's stock items."""
        qs = items_queryset().filter(stock_location=self.location())
        return self.page(request, qs, searches.STOCK_ITEMS, "stock_items", s.SpreeStockItemDetailSerializer,
                         prepare_items)

    @docs.create(ITEMS, ItemCreateBody, s.SpreeStockItemDetailSerializer, docs.IDEMPOTENCY_KEY)
    def post(self, request, location_id):
        """Create a stock item (admin); an opening count_on_hand is recorded as a `received` movement."""
        location = self.location()
        return idempotent(request, f"spree:stock_items:{location.pk}", lambda: self._create(request, location))

    def _create(self, request, location) -> Response:
        data = s.validated(s.SpreeStockItemCreateSerializer, s.unwrap(request.data, "stock_item"))
        variant = Variant.objects.get(pk=data.pop("variant_id"))
        try:
            item = services.create_stock_item(location, variant, user=request.user, **data)
        except IntegrityError:
            raise refuse_integrity("variant_id") from None
        return Response(render_item(item.pk), status=status.HTTP_201_CREATED)


class StockItemDetailView(SpreeView):
    # A change of count is stock work a manager may do; changing the item's settings is admin's (checked below).
    write_roles = {"PUT": Role.MANAGER, "PATCH": Role.MANAGER}

    def item(self) -> StockItem:
        location = self.location()
        return get_or_404(items_queryset().filter(stock_location=location), pk=self.kwargs["item_id"])

    @docs.show(ITEMS, s.SpreeStockItemDetailSerializer)
    def get(self, request, location_id, item_id):
        """One stock item of the location."""
        item = self.item()
        prepare_items([item])
        return Response(s.SpreeStockItemDetailSerializer(item).data)

    @docs.update(ITEMS, ItemUpdateBody, s.SpreeStockItemDetailSerializer, docs.IDEMPOTENCY_KEY)
    def put(self, request, location_id, item_id):
        """Change the count (manager): a delta as an `adjusted` movement, or with force the new count as a
        `counted` movement; or the settings (admin)."""
        item = self.item()
        return idempotent(request, f"spree:stock_item:{item.pk}", lambda: self._update(request, item))

    def _update(self, request, item) -> Response:
        raw = s.nest_form(request.data) if hasattr(request.data, "lists") else request.data
        body = s.unwrap(raw, "stock_item")
        if "force" not in body and isinstance(raw, dict) and "force" in raw:
            body = {**body, "force": raw["force"]}  # Spree clients send `force` inside or beside the wrapper
        data = s.validated(s.SpreeStockItemUpdateSerializer, body)
        settings = {k: data[k] for k in s.SpreeStockItemUpdateSerializer.SETTINGS if k in data}
        if settings and not request.user.has_role(Role.ADMIN):
            raise exceptions.PermissionDenied()
        update_stock_item(item, user=request.user, count_on_hand=data.get("count_on_hand"), force=data["force"],
                          **settings)
        return Response(render_item(item.pk))

    @docs.update(ITEMS, ItemUpdateBody, s.SpreeStockItemDetailSerializer, docs.IDEMPOTENCY_KEY)
    def patch(self, request, location_id, item_id):
        """Same as PUT."""
        return self.put(request, location_id, item_id)

    @docs.destroy(ITEMS)
    def delete(self, request, location_id, item_id):
        """Delete a stock item with no ledger (admin); else 422."""
        delete_stock_item(self.item())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- stock movements -------------------------------------------------------------------------------------------


class StockMovementListView(SpreeView):
    write_role = Role.MANAGER

    @docs.index(MOVEMENTS, MovementIndex, "`q[stock_item_variant_sku_eq]=ROR-00011` or `q[action_in][]=sold`")
    def get(self, request, location_id):
        """The location's stock movements, newest first (by movement date)."""
        # Filtered, counted and paged on the ledger's own columns (index-only); the joins are read for the
        # page's rows alone.
        location = self.location()
        qs = StockMovement.objects.filter(stock_location=location)
        return self.page(request, qs, searches.STOCK_MOVEMENTS, "stock_movements", s.SpreeStockMovementSerializer,
                         prepare_movements, rows=movements_queryset(),
                         count_for=lambda terms: movement_counter(location, terms))

    @docs.create(MOVEMENTS, MovementCreateBody, s.SpreeStockMovementSerializer, docs.IDEMPOTENCY_KEY)
    def post(self, request, location_id):
        """Record a stock movement (manager)."""
        # The location is read only when the request is refused: a movement recorded on one of its items
        # proves it exists. Whatever else is wrong, a missing location is still the answer (404).
        try:
            return idempotent(request, f"spree:stock_movements:{location_id}",
                              lambda: self._create(request, location_id))
        except (exceptions.APIException, services.StockError):
            self.location()
            raise

    def _create(self, request, location_id: int) -> Response:
        body = s.unwrap(request.data, "stock_movement")
        # The item's location is checked by the service under the item's lock (one SELECT less); only a
        # body refused anyway is validated again with the item looked up, so it lists every error.
        serializer = s.SpreeStockMovementCreateSerializer(data=body, context={"check_item": False})
        if not serializer.is_valid():
            s.validated(s.SpreeStockMovementCreateSerializer, body, location=self.location())
        data = serializer.validated_data
        movement = services.record_movement(
            data["stock_item_id"],
            data["quantity"],
            data["action"],
            user=request.user,
            movement_date=data.get("movement_date"),
            value_per_unit=data.get("value_per_unit"),
            cause=Cause(**{f: data.get(f, "") for f in s.CAUSE_FIELDS}),
            notes=data.get("notes", ""),
            location=location_id,
        )
        # The movement holds its locked item with variant, product and location: no re-read.
        prepare_movements([movement])
        return Response(s.SpreeStockMovementSerializer(movement).data, status=status.HTTP_201_CREATED)


class StockMovementDetailView(SpreeView):
    write_roles = {"PUT": Role.ADMIN, "PATCH": Role.ADMIN, "DELETE": Role.ADMIN}

    def movement(self) -> StockMovement:
        location = self.location()
        return get_or_404(movements_queryset().filter(stock_location=location),
                          pk=self.kwargs["movement_id"])

    @docs.show(MOVEMENTS, s.SpreeStockMovementSerializer)
    def get(self, request, location_id, movement_id):
        """One stock movement of the location."""
        movement = self.movement()
        prepare_movements([movement])
        return Response(s.SpreeStockMovementSerializer(movement).data)

    @docs.update(MOVEMENTS, MovementUpdateBody, s.SpreeStockMovementSerializer)
    def put(self, request, location_id, movement_id):
        """Edit a movement (admin): the item's ledger is reposted and the edit audited."""
        movement = self.movement()
        data = s.validated(s.SpreeStockMovementUpdateSerializer, s.unwrap(request.data, "stock_movement"),
                           movement=movement)
        changes = {k: data[k] for k in ("quantity", "movement_date", "value_per_unit", "notes") if k in data}
        if any(f in data for f in s.CAUSE_FIELDS):
            changes["cause"] = Cause(**{f: data.get(f, getattr(movement, f)) for f in s.CAUSE_FIELDS})
        if changes:
            services.update_movement(movement, user=request.user, **changes)
        return Response(render_movement(movement.pk))

    @docs.update(MOVEMENTS, MovementUpdateBody, s.SpreeStockMovementSerializer)
    def patch(self, request, location_id, movement_id):
        """Same as PUT."""
        return self.put(request, location_id, movement_id)

    @docs.destroy(MOVEMENTS)
    def delete(self, request, location_id, movement_id):
        """Delete a movement (admin): the item's ledger is reposted and the deletion audited."""
        services.delete_movement(self.movement(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StockMovementSingularView(StockMovementDetailView):
    """`DELETE /stock_locations/{id}/stock_movement/{id}`, the singular path one Spree document uses."""

    http_method_names = ["delete", "options"]

