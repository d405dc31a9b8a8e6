"""Spree JSON out: the rows of the contract (section 3), exact keys in exact order, and the index
envelopes. Each row is a `ColumnSerializer`, its own schema (inventory/api/common/columns.py)."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from inventory.api.common.columns import Column, ColumnSerializer, computed
from inventory.models import Variant
from inventory.selectors.stock import attach_stock_totals

# --- money and stock totals ----------------------------------------------------------------------


def money_string(value: Decimal | None) -> str | None:
    """Decimal as Spree shows money: a string with at least two decimals ("4.5000" -> "4.50")."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def display_price(value: Decimal) -> str:
    return f"${value:,.2f}"


def text(value) -> str | None:
    """What a DRF CharField renders."""
    return None if value is None else str(value)


def totals(variant: Variant) -> tuple[int, bool]:
    if not hasattr(variant, "stock_total"):
        attach_stock_totals([variant])
    return variant.stock_total, variant.stock_backorderable


def in_stock(variant: Variant) -> bool:
    return totals(variant)[0] > 0 or not variant.track_inventory


def is_backorderable(variant: Variant) -> bool:
    return totals(variant)[1]


# --- rows ----------------------------------------------------------------------------------------

_DATETIME = serializers.DateTimeField()  # renders as a bound one does (the settings' format and time zone)


def _money(example: str | None = None, nullable: bool = True) -> dict:
    spec = {"type": "string", **({"nullable": True} if nullable else {})}
    return {**spec, "example": example} if example else spec


def _empty_list(row) -> list:
    return []


EMPTY_LIST = {"type": "array", "items": {"type": "object"}, "maxItems": 0}


class SpreeVariantSerializer(ColumnSerializer):
    id = Column(serializers.IntegerField(), lambda v: v.id)
    name = Column(serializers.CharField(), lambda v: text(v.product.name))
    sku = Column(serializers.CharField(), lambda v: text(v.sku))
    price = computed(_money("15.99", nullable=False), lambda v: money_string(v.price))
    weight = computed(_money("1.50"), lambda v: money_string(v.weight))
    height = computed(_money(), lambda v: money_string(v.height))
    width = computed(_money(), lambda v: money_string(v.width))
    depth = computed(_money(), lambda v: money_string(v.depth))
    is_master = Column(serializers.BooleanField(), lambda v: bool(v.is_master))
    slug = Column(serializers.CharField(), lambda v: text(v.product.slug))
    description = Column(serializers.CharField(), lambda v: text(v.product.description))
    track_inventory = Column(serializers.BooleanField(), lambda v: bool(v.track_inventory))
    cost_price = computed(_money("9.50"), lambda v: money_string(v.cost_price))
    option_values = computed(EMPTY_LIST, _empty_list)
    images = computed(EMPTY_LIST, _empty_list)
    display_price = computed({"type": "string", "example": "$15.99"}, lambda v: display_price(v.price))
    options_text = Column(serializers.CharField(), lambda v: text(v.options_text))
    in_stock = computed({"type": "boolean"}, in_stock)
    is_backorderable = computed({"type": "boolean"}, is_backorderable)
    is_orderable = computed({"type": "boolean"}, lambda v: in_stock(v) or is_backorderable(v))
    total_on_hand = computed({"type": "integer"}, lambda v: totals(v)[0])
    is_destroyed = computed({"type": "boolean"}, lambda v: v.deleted_at is not None)


VARIANT = SpreeVariantSerializer()


class SpreeStockItemSerializer(ColumnSerializer):
    """The stock item as nested in a movement (exact contract keys)."""

    id = Column(serializers.IntegerField(), lambda i: i.id)
    count_on_hand = Column(serializers.IntegerField(), lambda i: i.count_on_hand)
    backorderable = Column(serializers.BooleanField(), lambda i: bool(i.backorderable))
    stock_location_id = Column(serializers.IntegerField(), lambda i: i.stock_location_id)
    variant_id = Column(serializers.IntegerField(), lambda i: i.variant_id)
    variant = Column(SpreeVariantSerializer(), lambda i: VARIANT.to_representation(i.variant))


class SpreeStockItemDetailSerializer(SpreeStockItemSerializer):
    """The stock item endpoints add the item's own stock settings."""

    quantity_allocated = Column(serializers.IntegerField(), lambda i: i.quantity_allocated)
    reorder_point = Column(serializers.IntegerField(), lambda i: i.reorder_point)
    max_stock_level = Column(serializers.IntegerField(), lambda i: i.max_stock_level, allow_null=True)
    last_counted_at = Column(serializers.DateTimeField(), lambda i: _datetime(i.last_counted_at), allow_null=True)


def _datetime(value):
    return None if value is None else _DATETIME.to_representation(value)


STOCK_ITEM = SpreeStockItemSerializer()


class SpreeStockMovementSerializer(ColumnSerializer):
    id = Column(serializers.IntegerField(), lambda m: m.id)
    quantity = Column(serializers.IntegerField(), lambda m: m.quantity)
    action = Column(serializers.CharField(), lambda m: text(m.action))
    stock_item_id = Column(serializers.IntegerField(), lambda m: m.stock_item_id)
    stock_item = Column(SpreeStockItemSerializer(), lambda m: STOCK_ITEM.to_representation(m.stock_item))


class SpreeStockLocationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField()
    active = serializers.BooleanField()
    default = serializers.BooleanField()
    backorderable_default = serializers.BooleanField()
    propagate_all_variants = serializers.BooleanField()
    address1 = serializers.CharField(allow_null=True)
    address2 = serializers.CharField(allow_null=True)
    city = serializers.CharField(allow_null=True)
    zipcode = serializers.CharField(allow_null=True)
    phone = serializers.CharField(allow_null=True)
    state_id = serializers.IntegerField(allow_null=True)
    state_name = serializers.CharField(allow_null=True)
    country_id = serializers.IntegerField(allow_null=True)


class SpreeCountrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    iso_name = serializers.CharField()
    iso = serializers.CharField()
    iso3 = serializers.CharField()
    name = serializers.CharField()
    numcode = serializers.IntegerField(allow_null=True)
    states_required = serializers.BooleanField()


class SpreeStateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    abbr = serializers.CharField()
    country_id = serializers.IntegerField()


class SpreeStockLocationRowSerializer(SpreeStockLocationSerializer):
    """A location in the index: Spree nests its country and state there (null when unset)."""

    country = SpreeCountrySerializer(allow_null=True)
    state = SpreeStateSerializer(allow_null=True)


def live_variants(product) -> list[Variant]:
    # A deleted product still shows the variants deleted with it (show_deleted=true).
    return [v for v in product.variants.all() if v.deleted_at is None or product.deleted_at is not None]


def master(product) -> Variant | None:
    return next((v for v in live_variants(product) if v.is_master), None)


def _master_field(product, render):
    variant = master(product)
    return render(variant) if variant else None


class SpreeProductSerializer(ColumnSerializer):
    """Spree's product: its master variant's price, and the master and other variants nested."""

    id = Column(serializers.IntegerField(), lambda p: p.id)
    name = Column(serializers.CharField(), lambda p: text(p.name))
    description = Column(serializers.CharField(), lambda p: text(p.description))
    slug = Column(serializers.CharField(), lambda p: text(p.slug))
    price = computed(_money("15.99"), lambda p: _master_field(p, lambda v: money_string(v.price)))
    display_price = computed(_money("$15.99"), lambda p: _master_field(p, lambda v: display_price(v.price)))
    total_on_hand = computed({"type": "integer"}, lambda p: sum(totals(v)[0] for v in live_variants(p)))
    has_variants = computed({"type": "boolean"}, lambda p: any(not v.is_master for v in live_variants(p)))
    is_destroyed = computed({"type": "boolean"}, lambda p: p.deleted_at is not None)
    master = computed(SpreeVariantSerializer(), lambda p: _master_field(p, VARIANT.to_representation),
                      allow_null=True)
    variants = computed(SpreeVariantSerializer(many=True),
                        lambda p: [VARIANT.to_representation(v) for v in live_variants(p) if not v.is_master])
    created_at = Column(serializers.DateTimeField(), lambda p: _DATETIME.to_representation(p.created_at))
    updated_at = Column(serializers.DateTimeField(), lambda p: _DATETIME.to_representation(p.updated_at))


# --- envelopes and errors (schema only) ------------------------------------------------------------


def wrapped(name: str, inner: type[serializers.Serializer], component: str) -> type[serializers.Serializer]:
    """A serializer class documenting `{"<name>": {...inner...}}` (validation uses `unwrap` + inner)."""
    return type(component, (serializers.Serializer,), {name: inner(), "__module__": __name__})


def envelope(key: str, item: type[serializers.Serializer], component: str) -> type[serializers.Serializer]:
    fields = {
        key: item(many=True),
        "count": serializers.IntegerField(help_text="Items on this page."),
        "total_count": serializers.IntegerField(help_text="All matching items."),
        "current_page": serializers.IntegerField(),
        "pages": serializers.IntegerField(),
        "per_page": serializers.IntegerField(),
        "__module__": __name__,
    }
    # One object, though an index answers it: not a list of them.
    return extend_schema_serializer(many=False)(type(component, (serializers.Serializer,), fields))


class SpreeErrorSerializer(serializers.Serializer):
    error = serializers.CharField()


class SpreeThrottledSerializer(SpreeErrorSerializer):
    retry_after = serializers.IntegerField(help_text="Seconds; also in the Retry-After header.")


class SpreeInvalidSerializer(SpreeErrorSerializer):
    error = serializers.CharField(default="Invalid resource. Please fix errors and try again.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Messages by field (or query parameter) name.")
