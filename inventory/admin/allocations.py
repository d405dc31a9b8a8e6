"""Allocations (stock reserved for orders). Made by services.allocations (the API); staff may release or
fulfil them here, through the same services."""

from __future__ import annotations

from django.contrib import admin

from inventory.admin import actions
from inventory.admin.base import ReadOnlyAdmin, StockItemColumns, movement_link, short_datetime
from inventory.models import Allocation


@admin.register(Allocation)
class AllocationAdmin(StockItemColumns, ReadOnlyAdmin):
    list_display = ("id", "stock_item", "quantity", "status", "reference_id", "when")
    list_filter = ("status", "stock_item__stock_location", "created_at")
    list_select_related = ("stock_item__variant", "stock_item__stock_location", "created_by")
    search_fields = ("reference_id", "stock_item__variant__sku", "stock_item__stock_location__code")
    fields = ("stock_item_link", "quantity", "status", "reference_type", "reference_id", "fulfilment",
              "created_by", "created_at", "updated_at")
    readonly_fields = fields
    actions = [actions.release_allocations, actions.fulfil_allocations]

    @admin.display(description="created", ordering="created_at")
    def when(self, obj: Allocation) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="fulfilment movement")
    def fulfilment(self, obj: Allocation) -> str:
        return movement_link(obj.fulfilment_movement_id)
