"""Stock locations and stock items. Stock figures are caches of the ledger and read-only here; stock
changes through the actions (receive, count, recount) or by recording a movement."""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.db.models import Count, F
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from inventory.admin import actions
from inventory.admin.base import StockAdmin, adopt, movement_link, short_datetime
from inventory.admin.count_upload import CountUploadMixin
from inventory.admin.exports import CsvExportMixin, export_selected
from inventory.admin.forms import StockItemAddForm, StockItemChangeForm, StockLocationForm
from inventory.models import CostLayer, StockItem, StockLocation, StockMovement
from inventory.services import catalog_edits
from inventory.services.errors import InvalidMovement
from inventory.services.locking import lock_item

RECENT_MOVEMENTS = 25
OPEN_LAYERS_SHOWN = 50
LOCATION_FIELDS = ("name", "code", "active", "default", "backorderable_default", "propagate_all_variants")


@admin.register(StockLocation)
class StockLocationAdmin(StockAdmin):
    form = StockLocationForm
    list_display = ("code", "name", "active", "default", "item_count")
    list_filter = ("active", "default", "propagate_all_variants")
    search_fields = ("code", "name")
    readonly_fields = ("created_at", "updated_at")
    fields = (*LOCATION_FIELDS, "created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(item_total=Count("stock_items"))

    @admin.display(description="stock items", ordering="item_total")
    def item_count(self, obj: StockLocation) -> int:
        return obj.item_total

    def get_readonly_fields(self, request, obj=None):
        # Codes appear in API filters, count files and reports; renaming one would orphan them.
        return (*self.readonly_fields, "code") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        # The API's service functions: one default location, stock items when propagation is turned on.
        if not change:
            adopt(obj, catalog_edits.create_location(**{name: getattr(obj, name) for name in LOCATION_FIELDS}))
            return
        current = StockLocation.objects.select_for_update().get(pk=obj.pk)
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in LOCATION_FIELDS}
        adopt(obj, catalog_edits.update_location(current, **changes))


class BelowReorderPointFilter(admin.SimpleListFilter):
    title = "reorder"
    parameter_name = "reorder"

    def lookups(self, request, model_admin):
        return [("below", "At or below reorder point"), ("ok", "Above reorder point")]

    def queryset(self, request, queryset):
        if self.value() == "below":
            return queryset.filter(reorder_point__gt=0, count_on_hand__lte=F("reorder_point"))
        if self.value() == "ok":
            return queryset.exclude(reorder_point__gt=0, count_on_hand__lte=F("reorder_point"))
        return queryset


STOCK_FIGURES = ("count_on_hand", "quantity_allocated", "available", "value_in_stock", "average_cost",
                 "last_counted_at")


@admin.register(StockItem)
class StockItemAdmin(CountUploadMixin, CsvExportMixin, StockAdmin):
    # What the floor looks at; value, cost, reorder settings and the last count are on the item's page.
    list_display = ("sku", "product", "location", "count_on_hand", "available", "below_reorder_point")
    list_filter = ("stock_location", BelowReorderPointFilter, "backorderable", "last_counted_at")
    list_select_related = ("variant__product", "stock_location")
    search_fields = ("variant__sku", "variant__product__name", "stock_location__code", "stock_location__name")
    autocomplete_fields = ("variant",)
    actions = [export_selected, actions.receive_stock, actions.adjust_to_count, actions.recount_selected]
    export_name = "stock-levels"

    def get_queryset(self, request):
        # Every page (changelist, autocomplete, change page) names items as "SKU @ CODE".
        return super().get_queryset(request).select_related("variant__product", "stock_location")

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = StockItemChangeForm if obj else StockItemAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ("stock_location", "variant", "backorders", "opening_count", "opening_cost",
                                       "reorder_point", "max_stock_level")})]
        return [
            (None, {"fields": ("stock_location", "variant", "backorderable", "reorder_point", "max_stock_level")}),
            ("Stock (from the ledger)", {"fields": STOCK_FIGURES}),
            ("Latest movements", {"fields": ("recent_movements",)}),
            ("Cost layers (batches)", {"fields": ("open_layers",)}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("stock_location", "variant", *STOCK_FIGURES, "recent_movements", "open_layers")

    def save_model(self, request, obj, form, change):
        if not change:
            created = form.service_call(request.user)()
            adopt(obj, created)
            return
        with transaction.atomic():
            locked = lock_item(obj.pk)
            if not obj.backorderable and locked.count_on_hand < 0:
                raise InvalidMovement("The item is short; receive or count it before turning backorders off.",
                                      field="backorderable")
            # Only the settings: the stock columns belong to the services (and may have moved meanwhile).
            locked.backorderable = obj.backorderable
            locked.reorder_point = obj.reorder_point
            locked.max_stock_level = obj.max_stock_level
            locked.save(update_fields=["backorderable", "reorder_point", "max_stock_level", "updated_at"])

    # --- columns ---------------------------------------------------------------------------------------

    @admin.display(description="SKU", ordering="variant__sku")
    def sku(self, obj: StockItem) -> str:
        return obj.variant.sku

    @admin.display(ordering="variant__product__name")
    def product(self, obj: StockItem) -> str:
        return obj.variant.product.name

    @admin.display(ordering="stock_location__code")
    def location(self, obj: StockItem) -> str:
        return obj.stock_location.code

    @admin.display(description="available")
    def available(self, obj: StockItem) -> int:
        return obj.num_available

    @admin.display(description="low", boolean=True)
    def below_reorder_point(self, obj: StockItem) -> bool:
        return obj.reorder_point > 0 and obj.count_on_hand <= obj.reorder_point

    # --- change page tables ----------------------------------------------------------------------------

    @admin.display(description="movements")
    def recent_movements(self, obj: StockItem) -> str:
        movements = list(
            StockMovement.objects.filter(stock_item=obj)
            .order_by("-movement_date", "-id")[:RECENT_MOVEMENTS]
        )
        if not movements:
            return "No movements yet."
        url = reverse("admin:inventory_stockmovement_changelist") + f"?stock_item__id__exact={obj.pk}"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((m.rank, movement_link(m.pk), m.movement_date.strftime("%Y-%m-%d %H:%M"), f"{m.quantity:+d}", m.action,
              m.balance_after, m.value_per_unit, m.total_cost, m.value_in_stock_after, m.average_cost_after,
              m.caused_by_order_no or m.notes[:40]) for m in movements),
        )
        return format_html(
            "<table><thead><tr><th>rank</th><th>movement</th><th>date</th><th>qty</th><th>action</th>"
            "<th>balance after</th><th>unit cost</th><th>total cost</th><th>value after</th>"
            "<th>avg cost after</th><th>order / notes</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}">All movements of this item</a></p>',
            rows, url,
        )

    @admin.display(description="open batches")
    def open_layers(self, obj: StockItem) -> str:
        layers = list(CostLayer.objects.filter(stock_item=obj).exclude(quantity_remaining=0)
                      .select_related("movement").order_by("id")[:OPEN_LAYERS_SHOWN])
        if not layers:
            return "No open batches."
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((layer.pk, movement_link(layer.movement_id),
              short_datetime(layer.movement.movement_date) if layer.movement_id else "-", layer.unit_cost,
              layer.quantity_received,
              layer.quantity_remaining) for layer in layers),
        )
        url = reverse("admin:inventory_costlayer_changelist") + f"?stock_item__id__exact={obj.pk}"
        return format_html(
            "<table><thead><tr><th>batch</th><th>received by</th><th>at</th><th>unit cost</th>"
            "<th>received</th><th>remaining</th></tr></thead><tbody>{}</tbody></table>"
            "<p>Open batches, oldest first (FIFO order); 'at' is the date of the movement that received the "
            'batch. <a href="{}">All batches</a> (superusers)</p>',
            rows, url,
        )
