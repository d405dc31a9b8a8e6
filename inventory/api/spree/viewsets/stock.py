"""Spree stock viewsets, scoped to the location in the URL as Spree's controllers scope to
`@stock_location`: stock items and stock movements."""

from __future__ import annotations

from functools import cached_property

from django.db import IntegrityError
from rest_framework import exceptions, status
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from accounts.models import Role
from inventory import services
from inventory.api.common.errors import InvalidParameter
from inventory.api.common.idempotency import idempotent
from inventory.api.spree import filters
from inventory.api.spree import inputs as i
from inventory.api.spree import schema as docs
from inventory.api.spree import serializers as s
from inventory.api.spree.viewsets.base import (
    ITEMS,
    MOVEMENTS,
    ItemCreateBody,
    ItemIndex,
    ItemUpdateBody,
    LocationScoped,
    MovementCreateBody,
    MovementIndex,
    MovementUpdateBody,
    SpreeViewSet,
    get_or_404,
    taken,
)
from inventory.models import StockItem, StockMovement, Variant
from inventory.selectors import movement_counts, stock
from inventory.selectors import movements as movement_rows
from inventory.services.errors import StockError
from inventory.services.rules import Cause
from inventory.services.stock_items import delete_stock_item, restore_stock_item, update_stock_item

# --- stock items -------------------------------------------------------------------------------------------


class StockItemRows(SpreeViewSet):
    """Stock items as the item routes show them. A discarded item (deleted with its history kept) is not
    found here."""

    serializer_class = s.SpreeStockItemDetailSerializer
    lookup_url_kwarg = "item_id"
    # A change of count is stock work a manager may do; changing the item's settings is admin's (checked below).
    write_roles = {"PUT": Role.MANAGER, "PATCH": Role.MANAGER}

    def items(self):
        return stock.stock_items().filter(deleted_at__isnull=True)

    @cached_property
    def item(self) -> StockItem:
        return get_or_404(self.items_here(), pk=self.kwargs["item_id"])

    def items_here(self):
        return self.items()

    def prepare_rows(self, items) -> None:
        s.attach_stock_totals([item.variant for item in items])

    def rendered(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        return self.render(stock.stock_items().get(pk=pk), code)

    @docs.update(ITEMS, ItemUpdateBody, s.SpreeStockItemDetailSerializer, docs.IDEMPOTENCY_KEY)
    @idempotent(lambda view: f"spree:stock_item:{view.item.pk}")
    def update(self, request, **kwargs):
        """Change the count (manager): a delta as an `adjusted` movement, or with force the new count as a
        `counted` movement; or the settings (admin)."""
        raw = i.nest_form(request.data) if hasattr(request.data, "lists") else request.data
        body = i.unwrap(raw, "stock_item")
        if "force" not in body and isinstance(raw, dict) and "force" in raw:
            body = {**body, "force": raw["force"]}  # Spree clients send `force` inside or beside the wrapper
        data = i.validated(i.SpreeStockItemUpdateSerializer, body)
        settings = {k: data[k] for k in i.SpreeStockItemUpdateSerializer.SETTINGS if k in data}
        if settings and not request.user.has_role(Role.ADMIN):
            raise exceptions.PermissionDenied()
        update_stock_item(self.item, user=request.user, count_on_hand=data.get("count_on_hand"),
                          force=data["force"], **settings)
        return self.rendered(self.item.pk)

    @docs.update(ITEMS, ItemUpdateBody, s.SpreeStockItemDetailSerializer, docs.IDEMPOTENCY_KEY)
    def partial_update(self, request, **kwargs):
        """Same as PUT."""
        return self.update(request, **kwargs)

    @docs.destroy(ITEMS)
    def destroy(self, request, **kwargs):
        """Delete a stock item (admin). One with a ledger is discarded, as Solidus does: hidden from lists
        and lookups, its history kept."""
        delete_stock_item(self.item)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StockItemViewSet(LocationScoped, ListModelMixin, StockItemRows):
    """`stock_locations/<location_id>/stock_items`."""

    ransack = filters.STOCK_ITEMS
    ransack_example = "`q[variant_sku_eq]=ROR-00011` or `q[count_on_hand_lt]=5`"
    envelope_key = "stock_items"

    def items_here(self):
        return self.items().filter(stock_location=self.location)

    def get_queryset(self):
        return self.items_here()

    @docs.index(ITEMS, ItemIndex)
    def list(self, request, *args, **kwargs):
        """The location's stock items."""
        return super().list(request, *args, **kwargs)

    @docs.create(ITEMS, ItemCreateBody, s.SpreeStockItemDetailSerializer, docs.IDEMPOTENCY_KEY)
    @idempotent(lambda view: f"spree:stock_items:{view.location.pk}")
    def create(self, request, location_id):
        """Create a stock item (admin); an opening count_on_hand is recorded as a `received` movement."""
        location = self.location
        data = self.parse(i.SpreeStockItemCreateSerializer, "stock_item")
        variant = Variant.objects.get(pk=data.pop("variant_id"))
        try:
            item = services.create_stock_item(location, variant, user=request.user, **data)
        except IntegrityError:
            raise taken("variant_id") from None
        return self.rendered(item.pk, status.HTTP_201_CREATED)

    @docs.show(ITEMS, s.SpreeStockItemDetailSerializer)
    def retrieve(self, request, location_id, item_id):
        """One stock item of the location."""
        return self.render(self.item)


LOCATION_REQUIRED = "stock_location_id parameter must be provided"


class UnnestedStockItemViewSet(LocationScoped, ListModelMixin, StockItemRows):
    """Spree's `stock_items` routes without the location: `PUT|PATCH|DELETE /stock_items/{id}` find the item
    by its id alone, and `GET /stock_items?stock_location_id=` lists that location's items (without it:
    422, as Spree answers)."""

    ransack = filters.STOCK_ITEMS
    ransack_example = StockItemViewSet.ransack_example
    envelope_key = "stock_items"

    def get_queryset(self):
        return self.items().filter(stock_location=self.location)

    @docs.unnested_index(ITEMS, ItemIndex, LOCATION_REQUIRED)
    def list(self, request, *args, **kwargs):
        """The stock items of the location given by `stock_location_id`."""
        raw = request.query_params.get("stock_location_id", "").strip()
        if not raw:
            return Response({"error": LOCATION_REQUIRED, "errors": {"stock_location_id": [LOCATION_REQUIRED]}},
                            status=422)
        if not (raw.isascii() and raw.isdigit()):
            raise InvalidParameter("stock_location_id", f"'{raw}' is not a whole number.")
        self.kwargs["location_id"] = int(raw)
        return super().list(request, *args, **kwargs)


# --- stock movements -------------------------------------------------------------------------------------


class StockMovementRows(LocationScoped):
    serializer_class = s.SpreeStockMovementSerializer
    lookup_url_kwarg = "movement_id"

    def get_object(self) -> StockMovement:
        return get_or_404(movement_rows.spree_rows().filter(stock_location=self.location),
                          pk=self.kwargs["movement_id"])

    def prepare_rows(self, movements) -> None:
        """The variants' stock totals: from the row query's annotations (`spree_rows`), or as the service
        left them on a movement it has just written (PostgreSQL), else read in one query."""
        fresh = []
        for movement in movements:
            variant = movement.stock_item.variant
            if hasattr(movement, "variant_stock_total"):
                stock.take_stock_totals(movement, variant)
            elif not hasattr(variant, "stock_total"):
                fresh.append(variant)
        s.attach_stock_totals(fresh)

    @docs.destroy(MOVEMENTS)
    def destroy(self, request, location_id, movement_id):
        """Delete a movement (admin): the item's ledger is reposted and the deletion audited."""
        services.delete_movement(self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Refusals that come before the view's own work (credentials, role, throttle): the location is not read.
ACCESS_ERRORS = (exceptions.NotAuthenticated, exceptions.AuthenticationFailed, exceptions.PermissionDenied,
                 exceptions.Throttled)


class StockMovementViewSet(StockMovementRows, ListModelMixin, SpreeViewSet):
    write_role = Role.MANAGER
    write_roles = {"PUT": Role.ADMIN, "PATCH": Role.ADMIN, "DELETE": Role.ADMIN}
    ransack = filters.STOCK_MOVEMENTS
    ransack_example = "`q[stock_item_variant_sku_eq]=ROR-00011` or `q[action_in][]=sold`"
    envelope_key = "stock_movements"

    def get_queryset(self):
        # Filtered, counted and paged on the ledger's own columns (index-only); the joins are read for the
        # page's rows alone (`page_rows`).
        return StockMovement.objects.filter(stock_location=self.location)

    def page_rows(self):
        return movement_rows.spree_rows()

    def exact_total(self):
        """A search of the location's movements by action alone is counted from the items' counters."""
        actions = movement_counts.actions_searched(self.search.terms)
        if actions is None:
            return None
        return lambda: movement_counts.movements_at(self.location.pk, actions)

    def handle_exception(self, exc):
        # A refused POST at a location that does not exist is a 404, whatever else is wrong. The location
        # is read only then: a movement recorded on one of its items proves it exists.
        if (self.action == "create" and isinstance(exc, exceptions.APIException | StockError)
                and not isinstance(exc, ACCESS_ERRORS)):
            try:
                self.location  # noqa: B018 - looked up for its 404
            except exceptions.NotFound as missing:
                exc = missing
        return super().handle_exception(exc)

    @docs.index(MOVEMENTS, MovementIndex)
    def list(self, request, *args, **kwargs):
        """The location's stock movements, newest first (by movement date)."""
        return super().list(request, *args, **kwargs)

    @docs.create(MOVEMENTS, MovementCreateBody, s.SpreeStockMovementSerializer, docs.IDEMPOTENCY_KEY)
    @idempotent("spree:stock_movements:{location_id}")
    def create(self, request, location_id):
        """Record a stock movement (manager)."""
        data = self.parse(i.SpreeStockMovementCreateSerializer, "stock_movement", location_id=int(location_id))
        movement = services.record_movement(services.MovementRequest(
            stock_item=data["stock_item_id"],
            quantity=data["quantity"],
            action=data["action"],
            movement_date=data.get("movement_date"),
            value_per_unit=data.get("value_per_unit"),
            cause=Cause(**{f: data.get(f, "") for f in i.CAUSE_FIELDS}),
            notes=data.get("notes", ""),
            location=int(location_id),
        ), user=request.user)
        # Stock recorded on a discarded item brings it back (its locked row says so: no extra read).
        restore_stock_item(movement.stock_item)
        # The movement holds its locked item with variant, product and location: no re-read.
        return self.render(movement, status.HTTP_201_CREATED)

    @docs.show(MOVEMENTS, s.SpreeStockMovementSerializer)
    def retrieve(self, request, location_id, movement_id):
        """One stock movement of the location."""
        return self.render(self.get_object())

    @docs.update(MOVEMENTS, MovementUpdateBody, s.SpreeStockMovementSerializer)
    def update(self, request, location_id, movement_id):
        """Edit a movement (admin): the item's ledger is reposted and the edit audited."""
        movement = self.get_object()
        data = self.parse(i.SpreeStockMovementUpdateSerializer, "stock_movement", movement=movement)
        changes = {k: data[k] for k in ("quantity", "movement_date", "value_per_unit", "notes") if k in data}
        if any(f in data for f in i.CAUSE_FIELDS):
            changes["cause"] = Cause(**{f: data.get(f, getattr(movement, f)) for f in i.CAUSE_FIELDS})
        if changes:
            services.update_movement(movement, user=request.user, **changes)
        return self.render(self.get_object())

    @docs.update(MOVEMENTS, MovementUpdateBody, s.SpreeStockMovementSerializer)
    def partial_update(self, request, location_id, movement_id):
        """Same as PUT."""
        return self.update(request, location_id, movement_id)


class SingularStockMovementViewSet(StockMovementRows, SpreeViewSet):
    """`DELETE /stock_locations/{id}/stock_movement/{id}`, the singular path one Spree document uses."""

    write_role = Role.ADMIN
