"""Request and response shapes of the warehouse family (contract section 5).

Responses are rendered by these serializers and the OpenAPI schema is generated from them, so the two
cannot drift. Money is a decimal string ("12.50"), quantities are integers, dates ISO 8601 (UTC).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from inventory.api.common import fields
from inventory.api.common.fields import MovementQuantity
from inventory.api.common.params import MAX_ID
from inventory.models import Action, Allocation, StockLocation, StockMovement, Variant
from inventory.services.rules import MAX_QUANTITY, MAX_UNIT_COST

REFERENCE_LENGTH = 64
NOTES_LENGTH = 2000

# movement_type of the contract -> the ledger actions it stands for when reading.
MOVEMENT_TYPES: dict[str, tuple[str, ...]] = {
    "in": (Action.RECEIVED, Action.RETURNED),
    "out": (Action.SOLD,),
    "adjustment": (Action.ADJUSTED, Action.COUNTED),
    "transfer": (Action.TRANSFERRED_IN, Action.TRANSFERRED_OUT),
}
TYPE_OF_ACTION = {action: kind for kind, actions in MOVEMENT_TYPES.items() for action in actions}


def id_field(**kwargs) -> serializers.IntegerField:
    return fields.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


# --- responses ------------------------------------------------------------------------------------


class ProductRefSerializer(serializers.Serializer):
    """A variant, as the warehouse family calls it: a product with a sku."""

    id = serializers.IntegerField()
    name = serializers.CharField(source="product.name")
    sku = serializers.CharField()


class WarehouseRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField()


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class PageMetaSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Rows matching the filters.")
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    hasMore = serializers.BooleanField(help_text="True when a later page has rows.")  # the contract's camelCase


class InventoryLevelSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Stock item id.")
    product = ProductRefSerializer(source="variant")
    warehouse = WarehouseRefSerializer(source="stock_location")
    quantity_on_hand = serializers.IntegerField(source="count_on_hand")
    quantity_allocated = serializers.IntegerField()
    quantity_available = serializers.IntegerField(source="num_available", help_text="On hand less allocated.")
    reorder_point = serializers.IntegerField()
    max_stock_level = serializers.IntegerField(allow_null=True)
    last_counted = serializers.DateTimeField(source="last_counted_at", allow_null=True)
    backorderable = serializers.BooleanField()
    value_in_stock = serializers.DecimalField(max_digits=16, decimal_places=2)


class TransferRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    source_warehouse_id = serializers.IntegerField()
    destination_warehouse_id = serializers.IntegerField()
    out_movement_id = serializers.IntegerField(help_text="The transferred_out leg at the source.")
    in_movement_id = serializers.IntegerField(allow_null=True, help_text="The transferred_in leg at the destination.")


# What a movement and an allocation both start with: the record's stock item, as this family names it, and
# who made the record. (A comment, not a docstring: the schema would show a docstring on both.)
class _StockItemRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    product_id = serializers.IntegerField(source="stock_item.variant_id")
    warehouse_id = serializers.IntegerField(source="stock_item.stock_location_id")
    stock_item_id = serializers.IntegerField()
    product = ProductRefSerializer(source="stock_item.variant")
    warehouse = WarehouseRefSerializer(source="stock_item.stock_location")

    @extend_schema_field(UserRefSerializer(allow_null=True))
    def get_created_by(self, record: StockMovement | Allocation) -> dict | None:
        user = record.created_by
        return None if user is None else {"id": user.pk, "name": user.display_name}


class MovementSerializer(_StockItemRecordSerializer):
    movement_type = serializers.SerializerMethodField()
    action = serializers.ChoiceField(choices=Action.choices, help_text="The ledger action.")
    quantity = serializers.IntegerField(help_text="Signed: negative for stock leaving.")
    balance_before = serializers.SerializerMethodField()
    balance_after = serializers.IntegerField()
    cost_per_unit = serializers.DecimalField(source="value_per_unit", max_digits=14, decimal_places=4)
    total_cost = serializers.DecimalField(max_digits=16, decimal_places=2)
    value_in_stock_after = serializers.DecimalField(max_digits=16, decimal_places=2)
    reference_type = serializers.CharField(source="resource_type")
    reference_id = serializers.CharField(source="resource_id")
    notes = serializers.CharField()
    movement_date = serializers.DateTimeField()
    transfer = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ChoiceField(choices=list(MOVEMENT_TYPES)))
    def get_movement_type(self, movement: StockMovement) -> str:
        return TYPE_OF_ACTION[movement.action]

    def get_balance_before(self, movement: StockMovement) -> int:
        return movement.balance_after - movement.quantity

    @extend_schema_field(TransferRefSerializer(allow_null=True))
    def get_transfer(self, movement: StockMovement) -> dict | None:
        record = movement.transfer
        if record is None:
            return None
        if movement.action == Action.TRANSFERRED_OUT:
            out_id = movement.pk
            # Prefetched by the view as `in_legs`, so a page of movements costs one query for all of them.
            legs = getattr(movement, "in_legs", None)
            in_id = legs[0].pk if legs else None
        else:
            out_id, in_id = movement.source_movement_id, movement.pk
        return {"id": record.pk, "number": record.number, "source_warehouse_id": record.source_location_id,
                "destination_warehouse_id": record.destination_location_id, "out_movement_id": out_id,
                "in_movement_id": in_id}


class AllocationSerializer(_StockItemRecordSerializer):
    quantity = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Allocation.Status.choices)
    reference_type = serializers.CharField()
    reference_id = serializers.CharField()
    fulfilment_movement_id = serializers.IntegerField(allow_null=True,
                                                      help_text="The `sold` movement that shipped it.")
    created_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AdjustmentResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="The `counted` movement; null when the count matched.")
    product_id = serializers.IntegerField()
    warehouse_id = serializers.IntegerField()
    stock_item_id = serializers.IntegerField()
    quantity_before = serializers.IntegerField()
    quantity_after = serializers.IntegerField()
    adjustment = serializers.IntegerField(help_text="quantity_after - quantity_before.")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class AdjustmentBatchSerializer(serializers.Serializer):
    adjustments_processed = serializers.IntegerField(help_text="Rows whose count differed (a movement was written).")
    total_adjustments = serializers.IntegerField(help_text="Rows in the request (all applied).")
    reference = serializers.CharField(help_text="The count's reference: resource_id of its movements "
                                                "(resource_type `stock_count`).")
    adjustments = AdjustmentResultSerializer(many=True)


class OverviewSerializer(serializers.Serializer):
    total_products = serializers.IntegerField(help_text="Distinct products with a stock item in scope.")
    total_stock_value = serializers.DecimalField(max_digits=20, decimal_places=2,
                                                 help_text="Sum of stock items' value_in_stock (valuation method).")
    low_stock_items = serializers.IntegerField(help_text="Stock items with available <= reorder_point.")
    out_of_stock_items = serializers.IntegerField(help_text="Stock items with available <= 0.")
    total_units = serializers.IntegerField()
    allocated_units = serializers.IntegerField()


class FlowsSerializer(serializers.Serializer):
    stock_in = serializers.IntegerField(help_text="Units received or returned.")
    stock_out = serializers.IntegerField(help_text="Units sold.")
    adjustments = serializers.IntegerField(help_text="Net units of adjusted and counted movements.")
    transfers_in = serializers.IntegerField()
    transfers_out = serializers.IntegerField()
    net_change = serializers.IntegerField()
    movements = serializers.IntegerField(help_text="Number of movements.")


class DailyFlowsSerializer(FlowsSerializer):
    date = serializers.DateField()


class TrendsSerializer(FlowsSerializer):
    daily = DailyFlowsSerializer(many=True)


class ProductRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    sku = serializers.CharField()


class TopMoverSerializer(serializers.Serializer):
    product = ProductRowSerializer()
    units_sold = serializers.IntegerField()
    cost_of_goods_sold = serializers.DecimalField(max_digits=20, decimal_places=2)
    sales = serializers.IntegerField(help_text="Number of sold movements.")


class LowStockAlertSerializer(InventoryLevelSerializer):
    shortfall = serializers.IntegerField(help_text="reorder_point - quantity_available.")


class PeriodSerializer(serializers.Serializer):
    name = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class AnalyticsSerializer(serializers.Serializer):
    period = PeriodSerializer()
    warehouse_id = serializers.IntegerField(allow_null=True)
    overview = OverviewSerializer()
    trends = TrendsSerializer()
    top_movers = TopMoverSerializer(many=True)
    low_stock_alerts = LowStockAlertSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    details = serializers.DictField(child=serializers.JSONField())


def envelope(name: str, inner, *, paginated: bool = False) -> serializers.Serializer:
    """`{"data": inner}` (and `meta` when paginated), for the schema."""
    fields = {"data": inner}
    if paginated:
        fields["meta"] = PageMetaSerializer()
    # One object, though a list action answers it: not a list of them.
    return extend_schema_serializer(many=False)(type(name, (serializers.Serializer,), fields))()


# --- requests -------------------------------------------------------------------------------------


def _existing_location(location_id: int, field: str) -> StockLocation:
    location = StockLocation.objects.filter(pk=location_id).first()
    if location is None:
        raise serializers.ValidationError({field: [f"No warehouse with id {location_id}."]})
    return location


def _existing_variant(variant_id: int) -> Variant:
    variant = Variant.objects.filter(pk=variant_id).first()
    if variant is None:
        raise serializers.ValidationError({"product_id": [f"No product with id {variant_id}."]})
    return variant


class MovementInputSerializer(serializers.Serializer):
    product_id = id_field()
    warehouse_id = id_field()
    movement_type = serializers.ChoiceField(choices=list(MOVEMENT_TYPES))
    quantity = MovementQuantity(help_text="in, out, transfer: positive units; adjustment: signed change.")
    reference_type = serializers.CharField(max_length=REFERENCE_LENGTH, required=False, allow_blank=True, default="")
    reference_id = serializers.CharField(max_length=REFERENCE_LENGTH, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=NOTES_LENGTH, required=False, allow_blank=True, default="")
    cost_per_unit = fields.DecimalField(max_digits=14, decimal_places=4, min_value=0, max_value=MAX_UNIT_COST,
                                             required=False, allow_null=True,
                                             help_text="Unit cost of incoming stock (in, positive adjustment).")
    destination_warehouse_id = id_field(required=False, allow_null=True, help_text="Required for transfer.")
    movement_date = fields.DateTimeField(required=False, allow_null=True,
                                              help_text="When it happened (default now); not for transfers.")

    def validate(self, attrs: dict) -> dict:
        kind, quantity = attrs["movement_type"], attrs["quantity"]
        errors: dict[str, list[str]] = {}
        if kind != "adjustment" and quantity < 0:
            errors["quantity"] = [f"Quantity must be positive for '{kind}' (the direction comes from the type)."]
        destination = attrs.get("destination_warehouse_id")
        if kind == "transfer":
            if destination is None:
                errors["destination_warehouse_id"] = ["This field is required for a transfer."]
            elif destination == attrs["warehouse_id"]:
                errors["destination_warehouse_id"] = ["Source and destination must be different warehouses."]
            if attrs.get("movement_date") is not None:
                errors["movement_date"] = ["A transfer happens now; it can't be dated."]
        elif destination is not None:
            errors["destination_warehouse_id"] = ["Only a transfer has a destination."]
        if attrs.get("cost_per_unit") is not None and not (kind == "in" or (kind == "adjustment" and quantity > 0)):
            errors["cost_per_unit"] = ["Only incoming stock takes a unit cost; outgoing stock is costed from "
                                       "its batches."]
        if errors:
            raise serializers.ValidationError(errors)
        attrs["variant"] = _existing_variant(attrs["product_id"])
        attrs["location"] = _existing_location(attrs["warehouse_id"], "warehouse_id")
        if destination is not None:
            attrs["destination"] = _existing_location(destination, "destination_warehouse_id")
        return attrs


class AllocationInputSerializer(serializers.Serializer):
    product_id = id_field()
    warehouse_id = id_field()
    quantity = fields.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    reference_type = serializers.CharField(max_length=REFERENCE_LENGTH, required=False, allow_blank=True, default="")
    reference_id = serializers.CharField(max_length=REFERENCE_LENGTH, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        attrs["variant"] = _existing_variant(attrs["product_id"])
        attrs["location"] = _existing_location(attrs["warehouse_id"], "warehouse_id")
        return attrs


class AdjustmentRowSerializer(serializers.Serializer):
    """One counted row; checked field by field so every problem of every row is reported at once."""

    product_id = id_field()
    warehouse_id = id_field()
    actual_quantity = fields.IntegerField(min_value=0, max_value=MAX_QUANTITY,
                                               help_text="The physical count (a whole number, 0 or more).")
    reason = serializers.CharField(max_length=NOTES_LENGTH, required=False, allow_blank=True, default="")


class AdjustmentsInputSerializer(serializers.Serializer):
    adjustments = AdjustmentRowSerializer(many=True)


# Other families have their own Movement, Error, ... shapes: prefix ours so schema components never collide.
for _name, _value in list(globals().items()):
    if isinstance(_value, type) and issubclass(_value, serializers.Serializer) and _value.__module__ == __name__:
        extend_schema_serializer(component_name="Warehouse" + _name.removesuffix("Serializer"))(_value)
