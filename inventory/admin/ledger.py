"""The movement ledger and its audit trail.

Managers record movements; only admins edit or delete them. Every write is a service call (record,
update, delete), which reposts the item's ledger and, for edits and deletions, writes a MovementAudit.
Running figures are always read-only. Transfer legs and fulfilled allocations cannot change alone.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from accounts.models import Role
from inventory import services
from inventory.admin import actions
from inventory.admin.base import (
    InternalMixin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    StockAdmin,
    StockItemColumns,
    admin_link,
    adopt,
    movement_link,
    short_datetime,
)
from inventory.admin.exports import CsvExportMixin, export_selected
from inventory.admin.forms import CAUSE_FIELDS, MovementChangeForm
from inventory.admin.movement_forms import MovementAddForm
from inventory.models import MovementAudit, StockMovement

RUNNING_FIGURES = ("rank", "balance_after", "value_per_unit", "total_cost", "value_in_stock_after",
                   "average_cost_after")
ITEM_JOINS = ("stock_item__variant", "stock_item__stock_location")


def audit_changes(audit: MovementAudit) -> str:
    """'field: before -> after' for what an update changed; the deleted fields for a deletion."""
    before, after = audit.before or {}, audit.after
    if after is None:
        return ", ".join(f"{key}={before[key]}" for key in ("action", "quantity", "movement_date") if key in before)
    changed = [f"{key}: {before.get(key)} → {after[key]}" for key in after if before.get(key) != after[key]]
    return "; ".join(changed) or "no change"


class MovementAuditInline(ReadOnlyInline):
    model = MovementAudit
    fk_name = "movement"
    fields = ("at", "operation", "user", "changes")
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "audit trail"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    @admin.display(description="changes")
    def changes(self, obj: MovementAudit) -> str:
        return audit_changes(obj)


@admin.register(StockMovement)
class StockMovementAdmin(CsvExportMixin, StockItemColumns, StockAdmin):
    add_role = Role.MANAGER
    # Six columns fit a tablet; costs, values, causes and authors are on each movement's page.
    list_display = ("when", "sku", "location", "action", "quantity", "balance_after")
    list_display_links = ("when",)
    list_filter = ("action", "stock_location", "movement_date")
    date_hierarchy = "movement_date"
    list_select_related = (*ITEM_JOINS, "created_by", "figures")
    search_fields = ("stock_item__variant__sku", "stock_item__variant__product__name",
                     "stock_item__stock_location__code", "caused_by_order_no", "=resource_id", "=transfer__number")
    autocomplete_fields = ("stock_item",)
    # Counting a table of millions for the "N total" link is not worth a query per page.
    show_full_result_count = False
    actions = [export_selected, actions.delete_movements]
    export_name = "movements"
    inlines = [MovementAuditInline]

    def get_actions(self, request):
        found = super().get_actions(request)
        # Django's bulk delete would bypass the services; delete_movements replaces it.
        found.pop("delete_selected", None)
        return found

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*ITEM_JOINS, "created_by", "figures")

    # --- permissions: changing the ledger is for admins, and not on legs of something larger ---------

    def is_locked(self, obj: StockMovement | None) -> bool:
        return obj is not None and (obj.transfer_id is not None or hasattr(obj, "allocation"))

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and not self.is_locked(obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and not self.is_locked(obj)

    # --- forms ---------------------------------------------------------------------------------------

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = MovementChangeForm if obj else MovementAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        cause = ("Cause", {"fields": CAUSE_FIELDS})
        if obj is None:
            return [(None, {"fields": ("stock_item", "action", "quantity", "destination", "movement_date",
                                       "value_per_unit", "notes")}), cause]
        return [
            (None, {"fields": ("stock_item_link", "action", "quantity", "movement_date", "notes", "lock_reason")}),
            ("Running figures (computed from the ledger)", {"fields": RUNNING_FIGURES}),
            cause,
            ("Origin", {"fields": ("transfer_link", "source_movement_link", "created_by", "created_at",
                                   "updated_at")}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        fields = ["stock_item_link", "action", *RUNNING_FIGURES, "lock_reason", "transfer_link",
                  "source_movement_link", "created_by", "created_at", "updated_at"]
        if obj.quantity > 0:
            # An inbound movement's unit cost may be corrected; an outbound one is costed from stock.
            fields.remove("value_per_unit")
        return fields

    def save_model(self, request, obj, form, change):
        if change:
            changes = form.changes()
            if changes:
                updated = services.update_movement(obj.pk, user=request.user, **changes)
                adopt(obj, updated)
            return
        adopt(obj, form.service_call(request.user)())

    def delete_model(self, request, obj):
        services.delete_movement(obj.pk, user=request.user)

    def get_deleted_objects(self, objs, request):
        # Cost layers and consumptions are rebuilt by the repost, not deleted by the user: the
        # confirmation lists only the movements (and what locks them).
        objs = list(objs)
        protected = [f"{obj}: {self.lock_reason(obj)}" for obj in objs if self.is_locked(obj)]
        return [str(obj) for obj in objs], {StockMovement._meta.verbose_name_plural: len(objs)}, set(), protected

    # --- columns (and those of StockItemColumns) -----------------------------------------------------

    @admin.display(description="date", ordering="movement_date")
    def when(self, obj: StockMovement) -> str:
        return short_datetime(obj.movement_date)

    @admin.display(description="transfer")
    def transfer_link(self, obj: StockMovement) -> str:
        return admin_link(obj.transfer)

    @admin.display(description="cost from movement")
    def source_movement_link(self, obj: StockMovement) -> str:
        return movement_link(obj.source_movement_id)

    @admin.display(description="locked")
    def lock_reason(self, obj: StockMovement) -> str:
        if obj.transfer_id is not None:
            return "One leg of a transfer: it changes only with the transfer."
        if hasattr(obj, "allocation"):
            return f"Fulfils allocation {obj.allocation.pk}: it can't change alone."
        return "No: admins may edit or delete it (the item's ledger is reposted and the change audited)."


@admin.register(MovementAudit)
class MovementAuditAdmin(InternalMixin, StockItemColumns, ReadOnlyAdmin):
    list_display = ("at", "operation", "movement_ref_link", "sku", "location", "user", "changes")
    list_filter = ("operation", "stock_item__stock_location", "at")
    list_select_related = ("stock_item__variant", "stock_item__stock_location", "user")
    search_fields = ("=movement_ref", "stock_item__variant__sku", "user__username")
    fields = ("at", "operation", "movement_ref_link", "stock_item_link", "user", "comparison")
    readonly_fields = fields

    @admin.display(description="movement", ordering="movement_ref")
    def movement_ref_link(self, obj: MovementAudit) -> str:
        if obj.movement_id is None:
            return f"#{obj.movement_ref} (deleted)"
        return movement_link(obj.movement_id)

    @admin.display(description="changes")
    def changes(self, obj: MovementAudit) -> str:
        return audit_changes(obj)

    @admin.display(description="before / after")
    def comparison(self, obj: MovementAudit) -> str:
        before, after = obj.before or {}, obj.after or {}
        rows = format_html_join(
            "", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            ((key, json.dumps(before.get(key)), json.dumps(after.get(key)) if obj.after is not None else "-")
             for key in sorted(set(before) | set(after))),
        )
        return format_html("<table><thead><tr><th>field</th><th>before</th><th>after</th></tr></thead>"
                           "<tbody>{}</tbody></table>", rows)
