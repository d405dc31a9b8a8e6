"""Spree JSON in: the bodies of the contract (section 3).

Input serializers validate the fields inside a body's wrapper (`{"stock_movement": {...}}`); `unwrap` takes
the wrapper off, so that field errors are keyed by the field's own name as Spree's are (`errors.quantity`, not
`errors.stock_movement.quantity`). Numbers may arrive as strings; form-encoded Rails-style bodies
(`stock_movement[quantity]=10`) are accepted too.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.http import QueryDict
from django.utils.text import slugify
from rest_framework import serializers
from rest_framework.fields import empty

from inventory.api.common.errors import InvalidParameter
from inventory.api.common.fields import InputSerializer, MovementQuantity
from inventory.api.common.params import MAX_ID
from inventory.models import Action, Country, Product, State, StockItem, StockLocation, Variant
from inventory.services.rules import MAX_QUANTITY, MAX_UNIT_COST, item_location_problem

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


# --- input ---------------------------------------------------------------------------------------------

CAUSE_FIELDS = ("resource_type", "resource_id", "caused_by_order_no", "caused_by_resource_id")


def _id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


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


class SpreeStockMovementCreateSerializer(InputSerializer):
    quantity = MovementQuantity(help_text="Signed: positive adds stock, negative takes it away. Never 0.")
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

    def to_internal_value(self, data) -> dict:
        # A body that passes is left to the service to check the item's location, under the item's lock (one
        # query less); a body refused anyway names the item's problem too, so every problem is listed.
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError(self._with_item_problem(data, exc.detail)) from None

    def _with_item_problem(self, data, errors: dict) -> dict:
        if "stock_item_id" in errors or not isinstance(data, dict) or "location_id" not in self.context:
            return errors  # (an edit never moves a movement to another item: no location to check)
        try:
            item_id = self.fields["stock_item_id"].run_validation(data.get("stock_item_id", empty))
        except serializers.ValidationError:
            return errors
        item = StockItem.objects.filter(pk=item_id).only("stock_location_id").first()
        problem = item_location_problem(item_id, item.stock_location_id if item else None,
                                        self.context["location_id"])
        if problem is None:
            return errors
        # In field order, as a validation of the whole body lists them.
        found = {**errors, "stock_item_id": [problem]}
        return {name: found[name] for name in self.fields if name in found}


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
    count_on_hand = serializers.IntegerField(min_value=-MAX_QUANTITY, max_value=MAX_QUANTITY, required=False,
                                             help_text="A change to add, or with force the new count.")
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


def _address_field(length: int) -> serializers.CharField:
    return serializers.CharField(max_length=length, required=False, allow_null=True, allow_blank=True)


class SpreeStockLocationCreateSerializer(_KeyFromName):
    key_model, key, record, free_key = StockLocation, "code", "location", staticmethod(free_code)

    name = serializers.CharField(max_length=255)
    code = serializers.CharField(max_length=32, required=False, help_text="Unique; default: made from the name.")
    active = serializers.BooleanField(required=False, default=True)
    default = serializers.BooleanField(required=False, default=False, help_text="Only one location is default.")
    backorderable_default = serializers.BooleanField(required=False, default=False)
    propagate_all_variants = serializers.BooleanField(required=False, default=True,
                                                      help_text="Give the location a stock item for every variant.")
    address1 = _address_field(255)
    address2 = _address_field(255)
    city = _address_field(255)
    zipcode = _address_field(32)
    phone = _address_field(64)
    state_id = serializers.PrimaryKeyRelatedField(queryset=State.objects.all(), source="state", required=False,
                                                  allow_null=True)
    state_name = _address_field(255)
    country_id = serializers.PrimaryKeyRelatedField(queryset=Country.objects.all(), source="country",
                                                    required=False, allow_null=True)

    def validate_code(self, value: str) -> str:
        return self.unique_key(_not_blank(value))


class SpreeStockLocationUpdateSerializer(_Optional, SpreeStockLocationCreateSerializer):
    pass
