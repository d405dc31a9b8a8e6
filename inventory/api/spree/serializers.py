"""Spree JSON in and out.

Output serializers render exactly the keys of the contract (section 3). Input serializers validate the
fields inside a body's wrapper (`{"stock_movement": {...}}`); `unwrap` takes the wrapper off, so that
field errors are keyed by the field's own name as Spree's are (`errors.quantity`, not
`errors.stock_movement.quantity`). Numbers may arrive as strings; form-encoded Rails-style bodies
(`stock_movement[quantity]=10`) are accepted too.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils.text import slugify
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from inventory.api.common import InvalidParameter
from inventory.models import Action, Product, StockItem, StockLocation, StockMovement, Variant
from inventory.services.rules import MAX_QUANTITY, MAX_UNIT_COST, item_location_problem

MAX_ID = 2**63 - 1

# --- bodies ------------------------------------------------------------------------------------------

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def nest_form(data: QueryDict) -> dict:
    """Rails-style form keys to nested dicts: `stock_item[count_on_hand]=5` -> {"stock_item": {...}}."""
    out: dict = {}
    for key, values in data.lists():
        head, _, rest = key.partition("[")
        path = [head, *_BRACKETS.findall("[" + rest)] if rest else [head]
        target = out
        for part in path[:-1]:
            if part == "":
                break
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                break
        else:
            last = path[-1]
            if last == "" and len(path) > 1:
                continue  # x[] lists have no place in Spree's stock bodies
            target[last] = values[-1]
    return out


def unwrap(data, name: str) -> dict:
    """The fields of a body wrapped in `name`; a missing or malformed wrapper is a 422 naming it."""
    if isinstance(data, QueryDict):
        data = nest_form(data)
    if not isinstance(data, dict) or name not in data:
        raise InvalidParameter(name, f'The body must be wrapped in "{name}": {{"{name}": {{...}}}}.')
    body = data[name]
    if not isinstance(body, dict):
        raise InvalidParameter(name, f'"{name}" must be an object of fields.')
    return body


def validated(serializer_class, data: dict, **context) -> dict:
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- output ------------------------------------------------------------------------------------------


def money_string(value: Decimal | None) -> str | None:
    """Decimal as Spree shows money: a string with at least two decimals ("4.5000" -> "4.50")."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def display_price(value: Decimal) -> str:
    return f"${value:,.2f}"


def attach_stock_totals(variants) -> None:
    """Set `stock_total` and `stock_backorderable` on each variant with one query for all of them, so a
    page of movements, items or products costs the same whatever its size."""
    variants = [v for v in variants if v is not None]
    ids = {v.pk for v in variants}
    if not ids:
        return
    rows = (
        StockItem.objects.filter(variant_id__in=ids)
        .values("variant_id")
        .annotate(total=Sum("count_on_hand"), backorderable=Count("id", filter=Q(backorderable=True)))
    )
    totals = {row["variant_id"]: (row["total"] or 0, row["backorderable"] > 0) for row in rows}
    for variant in variants:
        variant.stock_total, variant.stock_backorderable = totals.get(variant.pk, (0, False))


def stock_totals_annotations(variant: str) -> dict:
    """`attach_stock_totals` as subqueries of a row query, for rows that reach a variant through the
    relation path `variant` (e.g. "stock_item__variant"): the page then costs no query for them.
    `take_stock_totals` moves the figures onto the variants."""
    items = StockItem.objects.filter(variant_id=OuterRef(f"{variant}_id")).order_by()
    return {
        "variant_stock_total": Coalesce(
            Subquery(items.values("variant_id").annotate(total=Sum("count_on_hand")).values("total")), 0),
        "variant_stock_backorderable": Exists(items.filter(backorderable=True)),
    }


def take_stock_totals(row, variant: Variant) -> None:
    """Set what `attach_stock_totals` would on `variant`, from `row`'s `stock_totals_annotations`."""
    variant.stock_total, variant.stock_backorderable = row.variant_stock_total, row.variant_stock_backorderable


def _totals(variant: Variant) -> tuple[int, bool]:
    if not hasattr(variant, "stock_total"):
        attach_stock_totals([variant])
    return variant.stock_total, variant.stock_backorderable


class SpreeVariantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="product.name")
    sku = serializers.CharField()
    price = serializers.SerializerMethodField()
    weight = serializers.SerializerMethodField()
    height = serializers.SerializerMethodField()
    width = serializers.SerializerMethodField()
    depth = serializers.SerializerMethodField()
    is_master = serializers.BooleanField()
    slug = serializers.CharField(source="product.slug")
    description = serializers.CharField(source="product.description")
    track_inventory = serializers.BooleanField()
    cost_price = serializers.SerializerMethodField()
    option_values = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()
    display_price = serializers.SerializerMethodField()
    options_text = serializers.CharField()
    in_stock = serializers.SerializerMethodField()
    is_backorderable = serializers.SerializerMethodField()
    is_orderable = serializers.SerializerMethodField()
    total_on_hand = serializers.SerializerMethodField()
    is_destroyed = serializers.SerializerMethodField()

    @extend_schema_field({"type": "string", "example": "15.99"})
    def get_price(self, variant) -> str:
        return money_string(variant.price)

    @extend_schema_field({"type": "string", "nullable": True, "example": "1.50"})
    def get_weight(self, variant) -> str | None:
        return money_string(variant.weight)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_height(self, variant) -> str | None:
        return money_string(variant.height)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_width(self, variant) -> str | None:
        return money_string(variant.width)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_depth(self, variant) -> str | None:
        return money_string(variant.depth)

    @extend_schema_field({"type": "string", "nullable": True, "example": "9.50"})
    def get_cost_price(self, variant) -> str | None:
        return money_string(variant.cost_price)

    @extend_schema_field({"type": "array", "items": {"type": "object"}, "maxItems": 0})
    def get_option_values(self, variant) -> list:
        return []

    @extend_schema_field({"type": "array", "items": {"type": "object"}, "maxItems": 0})
    def get_images(self, variant) -> list:
        return []

    @extend_schema_field({"type": "string", "example": "$15.99"})
    def get_display_price(self, variant) -> str:
        return display_price(variant.price)

    def get_in_stock(self, variant) -> bool:
        total, _ = _totals(variant)
        return total > 0 or not variant.track_inventory

    def get_is_backorderable(self, variant) -> bool:
        return _totals(variant)[1]

    def get_is_orderable(self, variant) -> bool:
        return self.get_in_stock(variant) or self.get_is_backorderable(variant)

    def get_total_on_hand(self, variant) -> int:
        return _totals(variant)[0]

    def get_is_destroyed(self, variant) -> bool:
        return variant.deleted_at is not None

    def to_representation(self, variant) -> dict:
        return variant_representation(variant)


# The Spree rows written out, instead of DRF's field-by-field walk (25 movements x 33 nested fields a page):
# about 0.5 ms of a movements page, measured A/B. The serializers' declared fields stay the schema, and a
# test checks that each function gives exactly what DRF's walk over them gives. They are plain functions so
# that a nested row is rendered without binding the nested serializer's fields (DRF deep-copies the whole
# declared tree on a serializer's first `.fields`: 0 to 0.15 ms of a single movement POST's 5.3 ms of CPU).


def variant_representation(variant: Variant) -> dict:
    total, backorderable = _totals(variant)
    in_stock = total > 0 or not variant.track_inventory
    product = variant.product
    return {
        "id": variant.id,
        "name": _text(product.name),
        "sku": _text(variant.sku),
        "price": money_string(variant.price),
        "weight": money_string(variant.weight),
        "height": money_string(variant.height),
        "width": money_string(variant.width),
        "depth": money_string(variant.depth),
        "is_master": bool(variant.is_master),
        "slug": _text(product.slug),
        "description": _text(product.description),
        "track_inventory": bool(variant.track_inventory),
        "cost_price": money_string(variant.cost_price),
        "option_values": [],
        "images": [],
        "display_price": display_price(variant.price),
        "options_text": _text(variant.options_text),
        "in_stock": in_stock,
        "is_backorderable": backorderable,
        "is_orderable": in_stock or backorderable,
        "total_on_hand": total,
        "is_destroyed": variant.deleted_at is not None,
    }


def _text(value) -> str | None:
    """What a DRF CharField renders."""
    return None if value is None else str(value)


# An unbound DateTimeField renders as a bound one does (the settings' format and time zone).
_DATETIME = serializers.DateTimeField()


class SpreeStockItemSerializer(serializers.Serializer):
    """The stock item as nested in a movement (exact contract keys)."""

    id = serializers.IntegerField()
    count_on_hand = serializers.IntegerField()
    backorderable = serializers.BooleanField()
    stock_location_id = serializers.IntegerField()
    variant_id = serializers.IntegerField()
    variant = SpreeVariantSerializer()

    def to_representation(self, item) -> dict:
        return stock_item_representation(item)


def stock_item_representation(item: StockItem) -> dict:
    return {
        "id": item.id,
        "count_on_hand": item.count_on_hand,
        "backorderable": bool(item.backorderable),
        "stock_location_id": item.stock_location_id,
        "variant_id": item.variant_id,
        "variant": variant_representation(item.variant),
    }


class SpreeStockItemDetailSerializer(SpreeStockItemSerializer):
    """The stock item endpoints add the item's own stock settings."""

    quantity_allocated = serializers.IntegerField()
    reorder_point = serializers.IntegerField()
    max_stock_level = serializers.IntegerField(allow_null=True)
    last_counted_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, item) -> dict:
        counted = item.last_counted_at
        return {
            **stock_item_representation(item),
            "quantity_allocated": item.quantity_allocated,
            "reorder_point": item.reorder_point,
            "max_stock_level": item.max_stock_level,
            "last_counted_at": None if counted is None else _DATETIME.to_representation(counted),
        }


class SpreeStockMovementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    quantity = serializers.IntegerField()
    action = serializers.CharField()
    stock_item_id = serializers.IntegerField()
    stock_item = SpreeStockItemSerializer()

    def to_representation(self, movement) -> dict:
        return movement_representation(movement)


def movement_representation(movement: StockMovement) -> dict:
    return {
        "id": movement.id,
        "quantity": movement.quantity,
        "action": _text(movement.action),
        "stock_item_id": movement.stock_item_id,
        "stock_item": stock_item_representation(movement.stock_item),
    }


class SpreeStockLocationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField()
    active = serializers.BooleanField()
    default = serializers.BooleanField()
    backorderable_default = serializers.BooleanField()
    propagate_all_variants = serializers.BooleanField()


class SpreeProductSerializer(serializers.Serializer):
    """Spree's product: its master variant's price, and the master and other variants nested."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    slug = serializers.CharField()
    price = serializers.SerializerMethodField()
    display_price = serializers.SerializerMethodField()
    total_on_hand = serializers.SerializerMethodField()
    has_variants = serializers.SerializerMethodField()
    is_destroyed = serializers.SerializerMethodField()
    master = serializers.SerializerMethodField()
    variants = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @staticmethod
    def _variants(product) -> list[Variant]:
        # A deleted product still shows the variants deleted with it (show_deleted=true).
        return [v for v in product.variants.all() if v.deleted_at is None or product.deleted_at is not None]

    def _master(self, product) -> Variant | None:
        return next((v for v in self._variants(product) if v.is_master), None)

    @extend_schema_field({"type": "string", "nullable": True, "example": "15.99"})
    def get_price(self, product) -> str | None:
        master = self._master(product)
        return money_string(master.price) if master else None

    @extend_schema_field({"type": "string", "nullable": True, "example": "$15.99"})
    def get_display_price(self, product) -> str | None:
        master = self._master(product)
        return display_price(master.price) if master else None

    def get_total_on_hand(self, product) -> int:
        return sum(_totals(v)[0] for v in self._variants(product))

    def get_has_variants(self, product) -> bool:
        return any(not v.is_master for v in self._variants(product))

    def get_is_destroyed(self, product) -> bool:
        return product.deleted_at is not None

    @extend_schema_field(SpreeVariantSerializer(allow_null=True))
    def get_master(self, product):
        master = self._master(product)
        return SpreeVariantSerializer(master).data if master else None

    @extend_schema_field(SpreeVariantSerializer(many=True))
    def get_variants(self, product):
        return SpreeVariantSerializer([v for v in self._variants(product) if not v.is_master], many=True).data


# --- input ---------------------------------------------------------------------------------------------

CAUSE_FIELDS = ("resource_type", "resource_id", "caused_by_order_no", "caused_by_resource_id")


def _id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def _quantity_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=-MAX_QUANTITY, max_value=MAX_QUANTITY, **kwargs)


def _stock_level_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY, required=False, **kwargs)


def _cause_field() -> serializers.CharField:
    return serializers.CharField(max_length=64, required=False, allow_blank=True)


def _dimension() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"), required=False,
                                    allow_null=True)


# Put ahead of a create serializer to make its update twin: the same fields and checks, each optional and
# without a default, so that an update changes only what its body names. (A comment, not a docstring: the
# schema would show a docstring as the description of every update body.)
class _Optional(serializers.Serializer):
    def get_fields(self) -> dict:
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
            field.default = empty
        return fields


def _unique(model, field: str, value, current):
    """`value`, unless a record other than `current` (the one being updated; None on create) has it."""
    qs = model.objects.filter(**{field: value})
    if current is not None:
        qs = qs.exclude(pk=current.pk)
    if qs.exists():
        raise serializers.ValidationError(f"'{value}' is already taken.")
    return value


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise serializers.ValidationError("This field may not be blank.")
    return value


class SpreeStockMovementCreateSerializer(serializers.Serializer):
    quantity = _quantity_field(help_text="Signed: positive adds stock, negative takes it away. Never 0.")
    stock_item_id = _id_field(help_text="A stock item of the location in the URL.")
    action = serializers.ChoiceField(choices=Action.choices, required=False, default=Action.ADJUSTED,
                                     help_text="Default `adjusted`. Transfers are not recorded here.")
    movement_date = serializers.DateTimeField(required=False, help_text="Backdate the movement (ISO 8601).")
    value_per_unit = serializers.DecimalField(max_digits=14, decimal_places=4, min_value=Decimal("0"),
                                              max_value=MAX_UNIT_COST, required=False,
                                              help_text="Unit cost of inbound units.")
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    resource_type = _cause_field()
    resource_id = _cause_field()
    caused_by_order_no = _cause_field()
    caused_by_resource_id = _cause_field()

    def validate_quantity(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("Quantity can't be zero.")
        return value

    def validate_stock_item_id(self, value: int) -> int:
        # check_item=False: the caller leaves this check to the service, which makes it under the lock.
        if not self.context.get("check_item", True):
            return value
        item = StockItem.objects.filter(pk=value).first()
        location = self.context["location"]
        problem = item_location_problem(value, item.stock_location_id if item else None, location.pk)
        if problem:
            raise serializers.ValidationError(problem)
        return value


class SpreeStockMovementUpdateSerializer(_Optional, SpreeStockMovementCreateSerializer):
    # A movement's action and stock item may be repeated in the body, not changed.
    action = serializers.CharField(required=False, help_text="Read-only: must equal the movement's action.")
    stock_item_id = serializers.IntegerField(required=False, help_text="Read-only: must equal the movement's item.")

    def get_fields(self) -> dict:
        fields = super().get_fields()
        # Last, where they have always been: 422 errors and the schema list fields in this order.
        for name in ("action", "stock_item_id"):
            fields[name] = fields.pop(name)
        return fields

    def validate_action(self, value: str) -> str:
        if value != self.context["movement"].action:
            raise serializers.ValidationError("A movement's action can't be changed; delete it and record another.")
        return value

    def validate_stock_item_id(self, value: int) -> int:
        if value != self.context["movement"].stock_item_id:
            raise serializers.ValidationError("A movement can't move to another stock item; delete it and "
                                              "record another.")
        return value


class SpreeStockItemCreateSerializer(serializers.Serializer):
    variant_id = _id_field()
    count_on_hand = _stock_level_field(default=0, help_text="Opening count, recorded as a `received` movement.")
    backorderable = serializers.BooleanField(required=False, allow_null=True, default=None,
                                             help_text="Default: the location's backorderable_default.")
    reorder_point = _stock_level_field()
    max_stock_level = _stock_level_field(allow_null=True)

    def validate_variant_id(self, value: int) -> int:
        if not Variant.objects.filter(pk=value, deleted_at__isnull=True).exists():
            raise serializers.ValidationError(f"Variant {value} does not exist.")
        return value


class SpreeStockItemUpdateSerializer(serializers.Serializer):
    # Not the create's twin: count_on_hand is a signed change here, and backorderable can't be null.
    count_on_hand = _quantity_field(required=False, help_text="A change to add, or with force the new count.")
    force = serializers.BooleanField(required=False, default=False,
                                     help_text="Set count_on_hand absolutely (a `counted` movement).")
    backorderable = serializers.BooleanField(required=False)
    reorder_point = _stock_level_field()
    max_stock_level = _stock_level_field(allow_null=True)

    SETTINGS = ("backorderable", "reorder_point", "max_stock_level")


class _VariantFields(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False)
    cost_price = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=Decimal("0"), required=False,
                                          allow_null=True)
    weight = _dimension()
    height = _dimension()
    width = _dimension()
    depth = _dimension()
    track_inventory = serializers.BooleanField(required=False)

    def validate_sku(self, value: str) -> str:
        return _unique(Variant, "sku", _not_blank(value), self.context.get("variant"))


class SpreeVariantCreateSerializer(_VariantFields):
    options_text = serializers.CharField(max_length=255, required=False, allow_blank=True)


class SpreeVariantUpdateSerializer(_Optional, SpreeVariantCreateSerializer):
    pass


def free_slug(name: str) -> str:
    base = (slugify(name) or "product")[:240]
    slug, n = base, 1
    while Product.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def free_code(name: str) -> str:
    base = (re.sub(r"[^A-Z0-9]+", "-", name.upper()).strip("-") or "LOCATION")[:28]
    code, n = base, 1
    while StockLocation.objects.filter(code=code).exists():
        n += 1
        code = f"{base}-{n}"
    return code


# A record with a unique key (a product's slug, a location's code) that a create may leave out: it is then
# made from the name. `record` is the context entry of the record being updated (none on create).
class _KeyFromName(serializers.Serializer):
    key_model: type
    key: str
    record: str
    free_key: staticmethod

    def unique_key(self, value: str) -> str:
        return _unique(self.key_model, self.key, value, self.context.get(self.record))

    def validate(self, attrs: dict) -> dict:
        if self.key not in attrs and self.context.get(self.record) is None:
            attrs[self.key] = self.free_key(attrs["name"])
        return attrs


class SpreeProductCreateSerializer(_KeyFromName, _VariantFields):
    key_model, key, record, free_key = Product, "slug", "product", staticmethod(free_slug)

    name = serializers.CharField(max_length=255)
    slug = serializers.SlugField(max_length=255, required=False, help_text="Default: made from the name.")
    description = serializers.CharField(required=False, allow_blank=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"),
                                     help_text="The master variant's price.")
    sku = serializers.CharField(max_length=64, help_text="The master variant's SKU.")

    def validate_slug(self, value: str) -> str:
        return self.unique_key(value)


class SpreeProductUpdateSerializer(_Optional, SpreeProductCreateSerializer):
    pass


class SpreeStockLocationCreateSerializer(_KeyFromName):
    key_model, key, record, free_key = StockLocation, "code", "location", staticmethod(free_code)

    name = serializers.CharField(max_length=255)
    code = serializers.CharField(max_length=32, required=False, help_text="Unique; default: made from the name.")
    active = serializers.BooleanField(required=False, default=True)
    default = serializers.BooleanField(required=False, default=False, help_text="Only one location is default.")
    backorderable_default = serializers.BooleanField(required=False, default=False)
    propagate_all_variants = serializers.BooleanField(required=False, default=True,
                                                      help_text="Give the location a stock item for every variant.")

    def validate_code(self, value: str) -> str:
        return self.unique_key(_not_blank(value))


class SpreeStockLocationUpdateSerializer(_Optional, SpreeStockLocationCreateSerializer):
    pass


# --- schema-only shapes: the wrapped bodies and the envelopes -------------------------------------------


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
    return type(component, (serializers.Serializer,), fields)


class SpreeErrorSerializer(serializers.Serializer):
    error = serializers.CharField()


class SpreeThrottledSerializer(SpreeErrorSerializer):
    retry_after = serializers.IntegerField(help_text="Seconds; also in the Retry-After header.")


class SpreeInvalidSerializer(SpreeErrorSerializer):
    error = serializers.CharField(default="Invalid resource. Please fix errors and try again.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Messages by field (or query parameter) name.")
