"""Warehouse inventory family (contract section 5) as viewsets: levels (with the bulk adjustments and the
analytics as actions), movements, allocations (release and fulfil as actions). Thin: the filter backend
reads the query strictly (filters.py), writes go through `inventory.services`, reads through
`inventory.reports` and `inventory.selectors`. Every error is answered as `{"error", "details"}`."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework.decorators import action
from rest_framework.fields import empty
from rest_framework.mixins import ListModelMixin
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from inventory import services
from inventory.api.common.errors import FamilyErrorsMixin
from inventory.api.common.filters import StrictFilterBackend
from inventory.api.common.idempotency import idempotent
from inventory.api.common.metadata import FamilyMetadata
from inventory.api.common.pagination import WarehousePagination
from inventory.api.common.params import MAX_ID
from inventory.api.common.schema import FamilyAutoSchema
from inventory.api.warehouse import filters
from inventory.api.warehouse import serializers as s
from inventory.api.warehouse.errors import InvalidRequest, family_field_names, handler, validated
from inventory.api.warehouse.schema import IDEMPOTENCY, errors, query, transition_schema
from inventory.models import Action, Allocation
from inventory.reports import analytics
from inventory.selectors import movements as movement_rows
from inventory.selectors import stock
from inventory.services.allocations import allocate, fulfil, release
from inventory.services.catalog import ensure_stock_items
from inventory.services.counts import CountRejected, CountRow, RowProblem, apply_counts

DEFAULT_LIMIT = WarehousePagination.default_size
MAX_LIMIT = WarehousePagination.max_size
MAX_ADJUSTMENT_ROWS = 1000

# What a `movement_type` of a POST records: (action, sign of the stored quantity).
RECORDED_AS = {"in": (Action.RECEIVED, 1), "out": (Action.SOLD, -1), "adjustment": (Action.ADJUSTED, 1)}


class WarehouseViewSet(FamilyErrorsMixin, GenericViewSet):
    metadata_class = FamilyMetadata
    error_handler = staticmethod(handler)
    parser_classes = [JSONParser]
    schema = FamilyAutoSchema()
    filter_backends = [StrictFilterBackend]
    pagination_class = WarehousePagination
    lookup_value_converter = "int"


PAGE_PARAMS = [
    query("page", description="1-based page (default 1)."),
    query("limit", description=f"Rows per page (default {DEFAULT_LIMIT}, capped at {MAX_LIMIT})."),
]


# --- inventory levels, bulk adjustments, analytics ------------------------------------------------


# `/inventory`: stock levels; `/inventory/adjustments` and `/inventory/analytics` are actions on them.
class InventoryViewSet(WarehouseViewSet, ListModelMixin):
    serializer_class = s.InventoryLevelSerializer
    filterset_class = filters.LevelFilter

    def get_queryset(self):
        # A discarded stock item (deleted with its ledger kept) is not a level any more.
        return analytics.levels().order_by("stock_location_id", "variant_id", "pk")

    @extend_schema(
        operation_id="warehouse_inventory_levels",
        summary="Stock levels per product and warehouse",
        parameters=[
            query("warehouse_id", description="Only this warehouse (stock location id)."),
            query("product_id", description="Only this product (variant id)."),
            query("low_stock", OpenApiTypes.BOOL, "true: only items with available <= reorder_point."),
            query("out_of_stock", OpenApiTypes.BOOL, "true: only items with available <= 0."),
            *PAGE_PARAMS,
        ],
        responses={200: s.envelope("WarehouseLevelList", s.InventoryLevelSerializer(many=True), paginated=True),
                   **errors(403, 422)},
        tags=["warehouse"],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        operation_id="warehouse_adjustments_create",
        summary="Apply a physical count of many rows, all or nothing",
        description="Every row is checked first (unknown product or warehouse, actual_quantity not a whole "
                    "number >= 0, the same product and warehouse twice); if any is bad the answer is 422 with "
                    "each bad row's problems under `details` keyed `adjustments[INDEX].field`, and nothing is "
                    f"written. Otherwise every row becomes a `counted` movement of the difference (none when "
                    f"the count matches) and stamps last_counted, in one transaction. At most "
                    f"{MAX_ADJUSTMENT_ROWS} rows.",
        parameters=[IDEMPOTENCY],
        request=s.AdjustmentsInputSerializer,
        responses={201: s.envelope("WarehouseAdjustmentsCreated", s.AdjustmentBatchSerializer()),
                   **errors(403, 422)},
        tags=["warehouse"],
    )
    @action(detail=False, methods=["post"], url_path="adjustments", filter_backends=[])
    @idempotent("warehouse:adjustments")
    def adjustments(self, request):
        body = request.data
        raw_rows = body.get("adjustments") if isinstance(body, dict) else None
        if not isinstance(raw_rows, list) or not raw_rows:
            raise InvalidRequest({"adjustments": ["A non-empty list of adjustments is required."]})
        if len(raw_rows) > MAX_ADJUSTMENT_ROWS:
            raise InvalidRequest({"adjustments": [f"At most {MAX_ADJUSTMENT_ROWS} rows per request."]})
        rows, problems = _parse_rows(raw_rows)
        try:
            with family_field_names():
                batch = apply_counts(rows, user=request.user, known_problems=problems, row_label="row")
        except CountRejected as exc:
            raise InvalidRequest(_row_errors(exc), message=exc.message) from None
        results = [
            {
                "id": r.movement.pk if r.movement else None,
                "product_id": r.item.variant_id,
                "warehouse_id": r.item.stock_location_id,
                "stock_item_id": r.item.pk,
                "quantity_before": r.quantity_before,
                "quantity_after": r.quantity_after,
                "adjustment": r.difference,
                "reason": r.row.reason,
                "created_at": r.movement.created_at if r.movement else r.item.last_counted_at,
            }
            for r in batch.results
        ]
        data = {"adjustments_processed": len(batch.changed), "total_adjustments": len(batch.results),
                "reference": batch.reference, "adjustments": results}
        return Response({"data": s.AdjustmentBatchSerializer(data).data}, status=201)


    @extend_schema(
        operation_id="warehouse_analytics",
        summary="Stock overview, flows over a period, top movers, low-stock alerts",
        parameters=[
            query("period", OpenApiTypes.STR, "The last 7d, 30d (default), 90d or 1y, by movement_date.",
                  enum=[*analytics.PERIODS]),
            query("warehouse_id", description="Only this warehouse (default: all)."),
        ],
        responses={200: s.envelope("WarehouseAnalyticsResponse", s.AnalyticsSerializer()), **errors(403, 422)},
        tags=["warehouse"],
    )
    @action(detail=False, methods=["get"], url_path="analytics", filterset_class=filters.AnalyticsFilter,
            pagination_class=None)
    def analytics(self, request):
        params = StrictFilterBackend().read(request, self.get_queryset(), self)
        period = params["period"] or analytics.DEFAULT_PERIOD
        location_id = params["warehouse_id"]
        report = analytics.warehouse_analytics(period, location_id=location_id)
        window = report["window"]
        data = {
            "period": {"name": window.period, "start": window.start, "end": window.end},
            "warehouse_id": location_id,
            "overview": report["overview"],
            "trends": {**report["trends"], "daily": report["daily"]},
            "top_movers": [
                {"product": {"id": row["variant_id"], "name": row["name"], "sku": row["sku"]},
                 "units_sold": row["units_sold"], "cost_of_goods_sold": row["cost_of_goods_sold"],
                 "sales": row["sales"]}
                for row in report["top_movers"]
            ],
            "low_stock_alerts": report["low_stock_alerts"],
        }
        return Response({"data": s.AnalyticsSerializer(data).data})


def _parse_rows(raw_rows: list) -> tuple[list[CountRow], list[RowProblem]]:
    """Check every field of every row without touching the database; unparseable fields become None."""
    fields = s.AdjustmentRowSerializer().fields
    rows: list[CountRow] = []
    problems: list[RowProblem] = []
    for index, raw in enumerate(raw_rows):
        if not isinstance(raw, dict):
            problems.append(RowProblem(index, "", "Each adjustment must be an object."))
            rows.append(CountRow(key=index, variant_id=None, location_id=None, counted=None))
            continue
        values = {}
        for name, field in fields.items():
            try:
                values[name] = field.run_validation(raw.get(name, empty))
            except drf_serializers.ValidationError as exc:
                values[name] = None
                problems.extend(RowProblem(index, name, str(message)) for message in exc.detail)
        rows.append(CountRow(key=index, variant_id=values["product_id"], location_id=values["warehouse_id"],
                             counted=values["actual_quantity"], reason=values["reason"] or ""))
    return rows, problems


def _row_errors(exc: CountRejected) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for problem in exc.problems:
        key = f"adjustments[{problem.key}]" + (f".{problem.field}" if problem.field else "")
        out.setdefault(key, []).append(problem.message)
    return out


# --- movements ------------------------------------------------------------------------------------


class MovementViewSet(WarehouseViewSet, ListModelMixin):
    serializer_class = s.MovementSerializer
    filterset_class = filters.MovementFilter

    def get_queryset(self):
        return movement_rows.warehouse_rows().order_by("-movement_date", "-id")

    @extend_schema(
        operation_id="warehouse_movements_list",
        summary="Movement history, newest first",
        parameters=[
            query("product_id", description="Only this product (variant id)."),
            query("warehouse_id", description="Only this warehouse."),
            query("movement_type", OpenApiTypes.STR,
                  "in (received, returned), out (sold), adjustment (adjusted, counted), transfer "
                  "(both legs), or one exact ledger action."),
            query("start_date", OpenApiTypes.STR, "ISO date or date-time: movement_date on or after."),
            query("end_date", OpenApiTypes.STR, "ISO date (that whole day) or date-time: movement_date up to."),
            query("reference_type", OpenApiTypes.STR, "Exact reference_type."),
            query("reference_id", OpenApiTypes.STR, "Exact reference_id."),
            *PAGE_PARAMS,
        ],
        responses={200: s.envelope("WarehouseMovementList", s.MovementSerializer(many=True), paginated=True),
                   **errors(403, 422)},
        tags=["warehouse"],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        operation_id="warehouse_movements_create",
        summary="Record a movement: in, out, adjustment or transfer",
        description="in = `received`; out = `sold` (positive quantity in, stored negative); adjustment = "
                    "`adjusted` (signed); transfer = `transferred_out` at warehouse_id plus `transferred_in` at "
                    "destination_warehouse_id in one transaction. For a transfer the response is the "
                    "transferred_out leg, with `transfer` naming the transfer and both legs' ids. A stock item "
                    "missing at the warehouse is created.",
        parameters=[IDEMPOTENCY],
        request=s.MovementInputSerializer,
        responses={201: s.envelope("WarehouseMovementCreated", s.MovementSerializer()), **errors(403, 422)},
        tags=["warehouse"],
    )
    @idempotent("warehouse:movements")
    def create(self, request):
        data = validated(s.MovementInputSerializer, request.data)
        kind, quantity, variant = data["movement_type"], data["quantity"], data["variant"]
        cause = services.Cause(resource_type=data["reference_type"], resource_id=data["reference_id"])
        with family_field_names(), transaction.atomic():
            if kind == "transfer":
                record = services.transfer(data["location"], data["destination"], [(variant.pk, quantity)],
                                           user=request.user, reference=data["reference_id"],
                                           notes=data["notes"], cause=cause)
                movement_id = record.movements.filter(action=Action.TRANSFERRED_OUT).values_list("pk", flat=True)[0]
            else:
                action, sign = RECORDED_AS[kind]
                item = ensure_stock_items(data["location"], [variant.pk], create=True)[variant.pk]
                movement_id = services.record_movement(services.MovementRequest(
                    stock_item=item, quantity=sign * quantity, action=action, movement_date=data.get("movement_date"),
                    value_per_unit=data.get("cost_per_unit"), cause=cause, notes=data["notes"],
                ), user=request.user).pk
        movement = movement_rows.warehouse_rows().get(pk=movement_id)
        return Response({"data": s.MovementSerializer(movement).data}, status=201)


# --- allocations ----------------------------------------------------------------------------------


def _allocation(pk: int | str) -> Allocation:
    pk = int(pk)  # the URL pattern only lets digits through
    if pk > MAX_ID:
        raise Allocation.DoesNotExist
    return stock.allocations().get(pk=pk)


class AllocationViewSet(WarehouseViewSet, ListModelMixin):
    serializer_class = s.AllocationSerializer
    filterset_class = filters.AllocationFilter

    def get_queryset(self):
        return stock.allocations().order_by("-created_at", "-id")

    @extend_schema(
        operation_id="warehouse_allocations_list",
        summary="Allocations (reservations), newest first",
        parameters=[
            query("status", OpenApiTypes.STR, "allocated, released or fulfilled.", enum=filters.ALLOCATION_STATUSES),
            query("product_id", description="Only this product."),
            query("warehouse_id", description="Only this warehouse."),
            query("reference_type", OpenApiTypes.STR, "Exact reference_type."),
            query("reference_id", OpenApiTypes.STR, "Exact reference_id."),
            *PAGE_PARAMS,
        ],
        responses={200: s.envelope("WarehouseAllocationList", s.AllocationSerializer(many=True), paginated=True),
                   **errors(403, 422)},
        tags=["warehouse"],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        operation_id="warehouse_allocations_create",
        summary="Reserve stock for an order",
        description="Refused (422) when quantity exceeds the available quantity (on hand less allocated) "
                    "unless the stock item is backorderable. Changes quantity_allocated only.",
        parameters=[IDEMPOTENCY],
        request=s.AllocationInputSerializer,
        responses={201: s.envelope("WarehouseAllocationCreated", s.AllocationSerializer()),
                   **errors(403, 422)},
        tags=["warehouse"],
    )
    @idempotent("warehouse:allocations")
    def create(self, request):
        data = validated(s.AllocationInputSerializer, request.data)
        variant = data["variant"]
        with family_field_names(), transaction.atomic():
            item = ensure_stock_items(data["location"], [variant.pk], create=True)[variant.pk]
            allocation = allocate(item, data["quantity"], user=request.user, reference_type=data["reference_type"],
                                  reference_id=data["reference_id"])
        return Response({"data": s.AllocationSerializer(_allocation(allocation.pk)).data}, status=201)


    @extend_schema(operation_id="warehouse_allocations_detail", summary="One allocation",
                   responses={200: s.envelope("WarehouseAllocationDetail", s.AllocationSerializer()),
                              **errors(403, 404)},
                   tags=["warehouse"])
    def retrieve(self, request, pk: int):
        return Response({"data": s.AllocationSerializer(_allocation(pk)).data})

    @transition_schema("release", "Release reserved stock",
                        "The allocation becomes `released` and its quantity is no longer allocated.")
    @action(detail=True, methods=["post"], filter_backends=[])
    @idempotent("warehouse:allocations:release:{pk}")
    def release(self, request, pk: int):
        return self.transition(release, pk)

    @transition_schema("fulfil", "Ship reserved stock",
                        "Ships the allocated quantity as a `sold` movement (reference_type/reference_id of the "
                        "allocation become the movement's); the allocation becomes `fulfilled`. Refused (422) if "
                        "a non-backorderable item no longer has the stock on hand.")
    @action(detail=True, methods=["post"], filter_backends=[])
    @idempotent("warehouse:allocations:fulfil:{pk}")
    def fulfil(self, request, pk: int):
        return self.transition(fulfil, pk)

    def transition(self, change, pk: int) -> Response:
        """Release or fulfil; only an `allocated` allocation may change."""
        allocation = _allocation(pk)
        with family_field_names():
            change(allocation, user=self.request.user)
        return Response({"data": s.AllocationSerializer(_allocation(pk)).data})


# --- anything else under /inventory -----------------------------------------------------------------


@extend_schema(exclude=True)
class NotFoundViewSet(WarehouseViewSet):
    """Unknown paths under /inventory answer 404 in this family's envelope (after authentication)."""

    def _not_found(self, request, *args, **kwargs):
        raise Allocation.DoesNotExist("no such route")

    get = post = put = patch = delete = _not_found
