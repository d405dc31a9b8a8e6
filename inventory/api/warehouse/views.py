"""Warehouse inventory family (contract section 5): levels, movements, bulk adjustments, allocations,
analytics. Thin views: parse and authorise here, write through `inventory.services`, read through
`inventory.reports`. Every error is answered as `{"error", "details"}` (see errors.py)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework.fields import empty
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory import services
from inventory.api.common import FamilyErrorsMixin, InvalidParameter, idempotent, int_param
from inventory.api.schema import FamilyAutoSchema
from inventory.api.warehouse import serializers as s
from inventory.api.warehouse.errors import InvalidRequest, family_field_names, handler, validated
from inventory.api.warehouse.schema import IDEMPOTENCY, errors, query
from inventory.models import Action, Allocation, StockLocation, StockMovement, Variant
from inventory.reports import analytics
from inventory.services.allocations import allocate, fulfil, release
from inventory.services.catalog import ensure_stock_items
from inventory.services.counts import CountRejected, CountRow, RowProblem, apply_counts

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_PAGE = 1_000_000
MAX_ADJUSTMENT_ROWS = 1000
TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no", ""}

# What a `movement_type` of a POST records: (action, sign of the stored quantity).
RECORDED_AS = {"in": (Action.RECEIVED, 1), "out": (Action.SOLD, -1), "adjustment": (Action.ADJUSTED, 1)}


class WarehouseView(FamilyErrorsMixin, APIView):
    error_handler = staticmethod(handler)
    parser_classes = [JSONParser]
    schema = FamilyAutoSchema()


# --- query parameters -----------------------------------------------------------------------------


def bool_param(request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise InvalidParameter(name, f"'{raw}' is not true or false.")


def id_param(request, name: str, model, label: str) -> int | None:
    """An id filter; an id that matches nothing is a mistake worth a 422, not an empty page."""
    value = int_param(request, name, minimum=1, maximum=s.MAX_ID)
    if value is not None and not model.objects.filter(pk=value).exists():
        raise InvalidParameter(name, f"No {label} with id {value}.")
    return value


def date_bound(request, name: str, *, upper: bool) -> Q | None:
    """start_date / end_date on movement_date: an ISO date (whole day, inclusive) or an ISO date-time
    (naive means UTC)."""
    raw = (request.query_params.get(name) or "").strip()
    if not raw:
        return None
    if "T" in raw and " " in raw:
        raw = raw.replace(" ", "+")  # an unescaped "+01:00" offset arrives as a space
    try:
        # Date first: parse_datetime would read a bare date as midnight, losing "the whole day".
        day = parse_date(raw)
        moment = None if day else parse_datetime(raw)
    except ValueError:
        moment = day = None
    if moment is None and day is None:
        raise InvalidParameter(name, f"'{raw}' is not an ISO 8601 date (2024-05-31) or date-time.")
    if day is not None:
        start_of_day = timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())
        return Q(movement_date__lt=start_of_day + timedelta(days=1)) if upper else Q(movement_date__gte=start_of_day)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return Q(movement_date__lte=moment) if upper else Q(movement_date__gte=moment)


def paginated(request, queryset: QuerySet, serializer_class) -> Response:
    page = int_param(request, "page", default=1, minimum=1, maximum=MAX_PAGE)
    limit = int_param(request, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT, clamp=True)
    total = queryset.count()
    offset = (page - 1) * limit
    rows = list(queryset[offset:offset + limit])
    meta = {"total": total, "page": page, "limit": limit, "hasMore": offset + len(rows) < total}
    return Response({"data": serializer_class(rows, many=True).data, "meta": meta})


def movement_queryset() -> QuerySet[StockMovement]:
    return StockMovement.objects.select_related(
        "figures", "stock_item__variant__product", "stock_item__stock_location", "created_by", "transfer"
    ).prefetch_related(
        Prefetch("destination_movements", queryset=StockMovement.objects.only("id", "source_movement_id"),
                 to_attr="in_legs")
    )


def allocation_queryset() -> QuerySet[Allocation]:
    return Allocation.objects.select_related("stock_item__variant__product", "stock_item__stock_location",
                                             "created_by")


# --- schema helpers (the rest are in schema.py) ---------------------------------------------------

PAGE_PARAMS = [
    query("page", description="1-based page (default 1)."),
    query("limit", description=f"Rows per page (default {DEFAULT_LIMIT}, capped at {MAX_LIMIT})."),
]


# --- inventory levels -----------------------------------------------------------------------------


class InventoryLevelsView(WarehouseView):
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
    def get(self, request):
        items = analytics.levels(
            location_id=id_param(request, "warehouse_id", StockLocation, "warehouse"),
            variant_id=id_param(request, "product_id", Variant, "product"),
        )
        if bool_param(request, "low_stock"):
            items = items.filter(analytics.LOW_STOCK)
        if bool_param(request, "out_of_stock"):
            items = items.filter(analytics.OUT_OF_STOCK)
        return paginated(request, items.order_by("stock_location_id", "variant_id", "pk"),
                         s.InventoryLevelSerializer)


# --- movements ------------------------------------------------------------------------------------


def _movement_type_filter(request) -> Q | None:
    raw = (request.query_params.get("movement_type") or "").strip()
    if not raw:
        return None
    if raw in s.MOVEMENT_TYPES:
        return Q(action__in=s.MOVEMENT_TYPES[raw])
    if raw in Action.values:
        return Q(action=raw)
    raise InvalidParameter("movement_type", f"'{raw}' is not a movement type; use one of "
                                            f"{', '.join(s.MOVEMENT_TYPES)} or a ledger action "
                                            f"({', '.join(Action.values)}).")


class MovementsView(WarehouseView):
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
    def get(self, request):
        movements = movement_queryset()
        if (location_id := id_param(request, "warehouse_id", StockLocation, "warehouse")) is not None:
            movements = movements.filter(stock_location_id=location_id)
        if (variant_id := id_param(request, "product_id", Variant, "product")) is not None:
            movements = movements.filter(stock_item__variant_id=variant_id)
        conditions = [_movement_type_filter(request), date_bound(request, "start_date", upper=False),
                      date_bound(request, "end_date", upper=True)]
        for name, column in (("reference_type", "resource_type"), ("reference_id", "resource_id")):
            if (value := request.query_params.get(name)) is not None:
                conditions.append(Q(**{column: value}))
        for condition in conditions:
            if condition is not None:
                movements = movements.filter(condition)
        return paginated(request, movements.order_by("-movement_date", "-id"), s.MovementSerializer)

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
    def post(self, request):
        return idempotent(request, "warehouse:movements", lambda: self._create(request))

    def _create(self, request) -> Response:
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
                movement_id = services.record_movement(
                    item, sign * quantity, action, user=request.user, movement_date=data.get("movement_date"),
                    value_per_unit=data.get("cost_per_unit"), cause=cause, notes=data["notes"],
                ).pk
        movement = movement_queryset().get(pk=movement_id)
        return Response({"data": s.MovementSerializer(movement).data}, status=201)


# --- bulk adjustments (physical counts) -----------------------------------------------------------


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


class AdjustmentsView(WarehouseView):
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
    def post(self, request):
        return idempotent(request, "warehouse:adjustments", lambda: self._create(request))

    def _create(self, request) -> Response:
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


# --- allocations ----------------------------------------------------------------------------------


def _allocation(pk: int | str) -> Allocation:
    pk = int(pk)  # the URL pattern only lets digits through
    if pk > s.MAX_ID:
        raise Allocation.DoesNotExist
    return allocation_queryset().get(pk=pk)


ALLOCATION_STATUSES = [status for status, _ in Allocation.Status.choices]


class AllocationsView(WarehouseView):
    @extend_schema(
        operation_id="warehouse_allocations_list",
        summary="Allocations (reservations), newest first",
        parameters=[
            query("status", OpenApiTypes.STR, "allocated, released or fulfilled.", enum=ALLOCATION_STATUSES),
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
    def get(self, request):
        allocations = allocation_queryset()
        if (location_id := id_param(request, "warehouse_id", StockLocation, "warehouse")) is not None:
            allocations = allocations.filter(stock_item__stock_location_id=location_id)
        if (variant_id := id_param(request, "product_id", Variant, "product")) is not None:
            allocations = allocations.filter(stock_item__variant_id=variant_id)
        if (status := request.query_params.get("status")) is not None:
            if status not in ALLOCATION_STATUSES:
                raise InvalidParameter("status", f"'{status}' is not one of {', '.join(ALLOCATION_STATUSES)}.")
            allocations = allocations.filter(status=status)
        for name in ("reference_type", "reference_id"):
            if (value := request.query_params.get(name)) is not None:
                allocations = allocations.filter(**{name: value})
        return paginated(request, allocations.order_by("-created_at", "-id"), s.AllocationSerializer)

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
    def post(self, request):
        return idempotent(request, "warehouse:allocations", lambda: self._create(request))

    def _create(self, request) -> Response:
        data = validated(s.AllocationInputSerializer, request.data)
        variant = data["variant"]
        with family_field_names(), transaction.atomic():
            item = ensure_stock_items(data["location"], [variant.pk], create=True)[variant.pk]
            allocation = allocate(item, data["quantity"], user=request.user, reference_type=data["reference_type"],
                                  reference_id=data["reference_id"])
        return Response({"data": s.AllocationSerializer(_allocation(allocation.pk)).data}, status=201)


class AllocationDetailView(WarehouseView):
    @extend_schema(operation_id="warehouse_allocations_detail", summary="One allocation",
                   responses={200: s.envelope("WarehouseAllocationDetail", s.AllocationSerializer()),
                              **errors(403, 404)},
                   tags=["warehouse"])
    def get(self, request, pk: int):
        return Response({"data": s.AllocationSerializer(_allocation(pk)).data})


class AllocationTransitionView(WarehouseView):
    """POST /inventory/allocations/{id}/release or /fulfil; only an `allocated` allocation may change."""

    transition = None
    route = ""

    def post(self, request, pk: int):
        return idempotent(request, f"{self.route}:{pk}", lambda: self._apply(request, pk))

    def _apply(self, request, pk: int) -> Response:
        allocation = _allocation(pk)
        with family_field_names():
            type(self).transition(allocation, user=request.user)
        return Response({"data": s.AllocationSerializer(_allocation(pk)).data})


def _transition_schema(name: str, summary: str, description: str):
    return extend_schema(
        operation_id=f"warehouse_allocations_{name}", summary=summary, description=description,
        parameters=[IDEMPOTENCY], request=None,
        responses={200: s.envelope(f"WarehouseAllocation{name.title()}Response", s.AllocationSerializer()),
                   **errors(403, 404, 422)},
        tags=["warehouse"],
    )


class AllocationReleaseView(AllocationTransitionView):
    transition = staticmethod(release)
    route = "warehouse:allocations:release"

    @_transition_schema("release", "Release reserved stock",
                        "The allocation becomes `released` and its quantity is no longer allocated.")
    def post(self, request, pk: int):
        return super().post(request, pk)


class AllocationFulfilView(AllocationTransitionView):
    transition = staticmethod(fulfil)
    route = "warehouse:allocations:fulfil"

    @_transition_schema("fulfil", "Ship reserved stock",
                        "Ships the allocated quantity as a `sold` movement (reference_type/reference_id of the "
                        "allocation become the movement's); the allocation becomes `fulfilled`. Refused (422) if "
                        "a non-backorderable item no longer has the stock on hand.")
    def post(self, request, pk: int):
        return super().post(request, pk)


# --- analytics ------------------------------------------------------------------------------------


class AnalyticsView(WarehouseView):
    @extend_schema(
        operation_id="warehouse_analytics",
        summary="Stock overview, flows over a period, top movers, low-stock alerts",
        parameters=[
            query("period", OpenApiTypes.STR, "The last 7d, 30d (default), 90d or 1y, by movement_date.",
                  enum=list(analytics.PERIODS)),
            query("warehouse_id", description="Only this warehouse (default: all)."),
        ],
        responses={200: s.envelope("WarehouseAnalyticsResponse", s.AnalyticsSerializer()), **errors(403, 422)},
        tags=["warehouse"],
    )
    def get(self, request):
        period = (request.query_params.get("period") or analytics.DEFAULT_PERIOD).strip()
        location_id = id_param(request, "warehouse_id", StockLocation, "warehouse")
        try:
            report = analytics.warehouse_analytics(period, location_id=location_id)
        except ValueError as exc:
            raise InvalidParameter("period", str(exc)) from None
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


# --- anything else under /inventory -----------------------------------------------------------------


@extend_schema(exclude=True)
class NotFoundView(WarehouseView):
    """Unknown paths under /inventory answer 404 in this family's envelope (after authentication)."""

    def _not_found(self, request, *args, **kwargs):
        raise Allocation.DoesNotExist("no such route")

    get = post = put = patch = delete = _not_found
