"""Stock transfers, with their movements (a transferred_out and a transferred_in leg per line).
Transfers are made by services.transfer (the API); here they are read-only."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q

from inventory.admin.base import ReadOnlyAdmin, ReadOnlyInline, short_datetime
from inventory.models import StockMovement, StockTransfer


class TransferMovementInline(ReadOnlyInline):
    model = StockMovement
    fk_name = "transfer"
    fields = ("stock_item", "action", "quantity", "value_per_unit", "total_cost", "balance_after", "movement_date")
    readonly_fields = fields
    verbose_name_plural = "movements"

    def get_queryset(self, request):
        return (super().get_queryset(request)
                .select_related("stock_item__variant", "stock_item__stock_location")
                .order_by("stock_item__variant_id", "quantity"))


@admin.register(StockTransfer)
class StockTransferAdmin(ReadOnlyAdmin):
    list_display = ("number", "source", "destination", "line_count", "reference", "when")
    list_filter = ("source_location", "destination_location", "created_at")
    list_select_related = ("source_location", "destination_location", "created_by")
    search_fields = ("number", "reference", "movements__stock_item__variant__sku")
    fields = ("number", "source_location", "destination_location", "reference", "created_by", "created_at")
    readonly_fields = fields
    inlines = [TransferMovementInline]

    def get_queryset(self, request):
        # Each line is two movements: count the outbound legs.
        return super().get_queryset(request).annotate(lines=Count("movements", filter=Q(movements__quantity__lt=0)))

    @admin.display(ordering="source_location__code")
    def source(self, obj: StockTransfer) -> str:
        return obj.source_location.code

    @admin.display(ordering="destination_location__code")
    def destination(self, obj: StockTransfer) -> str:
        return obj.destination_location.code

    @admin.display(description="created", ordering="created_at")
    def when(self, obj: StockTransfer) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="lines", ordering="lines")
    def line_count(self, obj: StockTransfer) -> int:
        return obj.lines

