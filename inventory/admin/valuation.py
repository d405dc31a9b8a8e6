"""Cost layers (FIFO batches) and what consumed them: written only by services.valuation, read-only here."""

from __future__ import annotations

from django.contrib import admin

from inventory.admin.base import (
    InternalMixin,
    ReadOnlyAdmin,
    StockItemColumns,
    admin_link,
    movement_link,
    short_datetime,
)
from inventory.models import CostLayer, LayerConsumption, MovementFigures


class OpenLayerFilter(admin.SimpleListFilter):
    title = "batch"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("open", "Open (units remaining)"), ("used", "Used up"), ("shortfall", "Shortfall (sold short)")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(quantity_remaining__gt=0)
        if self.value() == "used":
            return queryset.filter(quantity_remaining=0)
        if self.value() == "shortfall":
            return queryset.filter(quantity_received__lt=0)
        return queryset


@admin.register(CostLayer)
class CostLayerAdmin(InternalMixin, StockItemColumns, ReadOnlyAdmin):
    list_display = ("id", "stock_item", "received_by", "received_at", "unit_cost", "quantity_received",
                    "quantity_remaining")
    list_filter = (OpenLayerFilter, "stock_item__stock_location")
    list_select_related = ("stock_item__variant", "stock_item__stock_location", "movement")
    search_fields = ("stock_item__variant__sku", "stock_item__stock_location__code", "=movement__id")
    fields = ("stock_item_link", "received_by", "received_at", "unit_cost", "quantity_received",
              "quantity_remaining", "created_at")
    readonly_fields = fields

    @admin.display(description="movement", ordering="movement_id")
    def received_by(self, obj: CostLayer) -> str:
        return movement_link(obj.movement_id)

    # The batch's own date: created_at is when the layer row was last rebuilt by a repost.
    @admin.display(description="received at", ordering="movement__movement_date")
    def received_at(self, obj: CostLayer) -> str:
        return short_datetime(obj.movement.movement_date) if obj.movement_id else "-"


@admin.register(LayerConsumption)
class LayerConsumptionAdmin(InternalMixin, ReadOnlyAdmin):
    list_display = ("id", "consumed_by", "batch", "stock_item", "quantity", "unit_cost")
    list_select_related = ("layer__stock_item__variant", "layer__stock_item__stock_location")
    list_filter = ("layer__stock_item__stock_location",)
    search_fields = ("layer__stock_item__variant__sku", "=movement__id", "=layer__id")
    fields = ("consumed_by", "batch", "stock_item", "quantity", "unit_cost")
    readonly_fields = fields

    @admin.display(description="movement", ordering="movement_id")
    def consumed_by(self, obj: LayerConsumption) -> str:
        return movement_link(obj.movement_id)

    @admin.display(description="batch", ordering="layer_id")
    def batch(self, obj: LayerConsumption) -> str:
        return admin_link(obj.layer, f"batch {obj.layer_id} @ {obj.layer.unit_cost}")

    @admin.display(description="stock item")
    def stock_item(self, obj: LayerConsumption) -> str:
        return str(obj.layer.stock_item)


@admin.register(MovementFigures)
class MovementFiguresAdmin(InternalMixin, ReadOnlyAdmin):
    """The running figures of each movement, as the valuation wrote them (also shown on the movement)."""

    list_display = ("movement_id", "stock_item_id", "quantity", "rank", "balance_after", "value_per_unit",
                    "total_cost", "value_in_stock_after", "average_cost_after", "running_value", "updated_at")
    search_fields = ("=movement__id", "=stock_item__id")
    show_full_result_count = False
    fields = ("movement_link", *list_display[1:])
    readonly_fields = fields

    @admin.display(description="movement")
    def movement_link(self, obj: MovementFigures) -> str:
        return movement_link(obj.movement_id)
