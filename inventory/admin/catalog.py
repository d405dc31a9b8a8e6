"""Products and variants. New ones are created by inventory.services.catalog, which also creates their stock
items at every location that propagates all variants."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count

from inventory import services
from inventory.admin.base import ReadOnlyInline, RolePermissionsMixin, StockAdmin, adopt
from inventory.admin.forms import ProductAddForm
from inventory.models import Product, StockItem, Variant

VARIANT_FIELDS = ("sku", "options_text", "price", "cost_price", "is_master", "track_inventory")


def _values(instance, names) -> dict:
    return {name: getattr(instance, name) for name in names}


class VariantInline(RolePermissionsMixin, admin.TabularInline):
    model = Variant
    fields = VARIANT_FIELDS
    readonly_fields = ("is_master",)
    extra = 0
    # Variants have stock items (protected); retire one from its own page instead.
    can_delete = False
    show_change_link = True


class DeletedFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("deleted", "Deleted")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Product)
class ProductAdmin(StockAdmin):
    list_display = ("name", "slug", "variant_count")
    list_filter = (DeletedFilter, "created_at")
    search_fields = ("name", "slug", "variants__sku")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")
    inlines = [VariantInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(variant_total=Count("variants"))

    @admin.display(description="variants", ordering="variant_total")
    def variant_count(self, obj: Product) -> int:
        return obj.variant_total

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ProductAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (None, {"fields": ("name", "slug", "description")}),
                ("Master variant", {"fields": ("sku", "options_text", "price", "cost_price")}),
            ]
        return [(None, {"fields": ("name", "slug", "description", "deleted_at", "created_at", "updated_at")})]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        data = form.cleaned_data
        product = services.create_product(
            name=obj.name, slug=obj.slug, description=obj.description, sku=data["sku"], price=data["price"],
            cost_price=data.get("cost_price"), options_text=data.get("options_text") or "",
        )
        adopt(obj, product)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Variant:
            return super().save_formset(request, form, formset, change)
        for variant in formset.save(commit=False):
            if variant.pk is None:
                created = services.create_variant(form.instance, **_values(variant, VARIANT_FIELDS))
                adopt(variant, created)
            else:
                variant.save()


class StockItemOfVariantInline(ReadOnlyInline):
    model = StockItem
    fields = ("stock_location", "count_on_hand", "quantity_allocated", "value_in_stock", "reorder_point",
              "backorderable")
    readonly_fields = fields
    verbose_name_plural = "stock by location"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("stock_location", "variant")


@admin.register(Variant)
class VariantAdmin(StockAdmin):
    list_display = ("sku", "product", "options_text", "price")
    list_filter = ("is_master", "track_inventory", DeletedFilter)
    list_select_related = ("product",)
    search_fields = ("sku", "product__name", "options_text")
    autocomplete_fields = ("product",)
    readonly_fields = ("is_master", "created_at", "updated_at")
    inlines = [StockItemOfVariantInline]
    fieldsets = [
        (None, {"fields": ("product", "sku", "options_text", "price", "cost_price", "is_master",
                           "track_inventory")}),
        ("Dimensions", {"fields": ("weight", "height", "width", "depth"), "classes": ["collapse"]}),
        (None, {"fields": ("deleted_at", "created_at", "updated_at")}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # The product of an existing variant is fixed: its stock and history belong to it.
        return (*self.readonly_fields, "product") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        names = [f for f in form.cleaned_data if f != "product" and hasattr(obj, f)]
        created = services.create_variant(obj.product, **_values(obj, names))
        adopt(obj, created)
