"""Admin forms. Forms that write stock validate by rehearsing the service call (see `rehearse`), so the
service's own rules decide what is valid and the user sees its message on the right field."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django import forms
from django.db import transaction

from inventory import services
from inventory.models import Product, StockItem, StockLocation, StockMovement, Variant
from inventory.services import Cause, StockError
from inventory.services.rules import MAX_QUANTITY

CAUSE_FIELDS = ("resource_type", "resource_id", "caused_by_order_no", "caused_by_resource_id")


class _Rehearsal(Exception):
    pass


def rehearse(call: Callable[[], object]) -> StockError | None:
    """Run a service call in a savepoint that is always rolled back; return the StockError it raised.

    The real call happens later, in the admin's save; running it once here lets the form show the
    service's refusal (insufficient stock, a backdated edit that would go negative...) as a field error.
    """
    try:
        with transaction.atomic():
            call()
            raise _Rehearsal
    except _Rehearsal:
        return None
    except StockError as exc:
        return exc


class ServiceFormMixin:
    """`service_call(user)` performs the form's write through the services; `clean` rehearses it."""

    # Where a service error about a field the form does not show ends up.
    field_aliases: dict[str, str] = {}

    def service_call(self, user) -> Callable[[], object]:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            error = rehearse(self.service_call(None))
            if error is not None:
                self.add_service_error(error)
        return cleaned

    def add_service_error(self, error: StockError) -> None:
        name = self.field_aliases.get(error.field, error.field)
        self.add_error(name if name in self.fields else None, error.message)


def cause_of(cleaned: dict) -> Cause:
    return Cause(**{name: cleaned.get(name) or "" for name in CAUSE_FIELDS})


class MovementChangeForm(ServiceFormMixin, forms.ModelForm):
    value_per_unit = forms.DecimalField(required=False, min_value=Decimal("0"), max_digits=14, decimal_places=4,
                                        label="Unit cost")

    class Meta:
        model = StockMovement
        fields = ("quantity", "movement_date", "value_per_unit", "notes", *CAUSE_FIELDS)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:  # kept with the movement's figures, not a field of the model
            self.initial.setdefault("value_per_unit", self.instance.value_per_unit)

    def changes(self) -> dict:
        """Keyword arguments for services.update_movement: only what the user changed."""
        data, changed = self.cleaned_data, set(self.changed_data)
        result = {name: data[name] for name in ("quantity", "movement_date", "notes") if name in changed}
        if "value_per_unit" in changed and data.get("value_per_unit") is not None:
            result["value_per_unit"] = data["value_per_unit"]
        if changed & set(CAUSE_FIELDS):
            result["cause"] = cause_of(data)
        return result

    def service_call(self, user):
        changes = self.changes()
        pk = self.instance.pk
        if not changes:
            return lambda: None
        return lambda: services.update_movement(pk, user=user, **changes)


class DefaultYesNoSelect(forms.NullBooleanSelect):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", "Location default"), ("true", "Yes"), ("false", "No")]


class StockItemAddForm(ServiceFormMixin, forms.ModelForm):
    # Form-only fields (names distinct from the model's, which the admin would otherwise bind):
    # None means "the location's backorderable_default", decided by the service.
    backorders = forms.NullBooleanField(required=False, widget=DefaultYesNoSelect, label="Backorderable")
    opening_count = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY, initial=0, label="Opening count",
                                       help_text="Recorded as a 'received' movement.")
    opening_cost = forms.DecimalField(required=False, min_value=Decimal("0"), max_digits=14, decimal_places=4,
                                      label="Opening unit cost",
                                      help_text="Empty: the variant's cost price.")

    field_aliases = {"variant_id": "variant", "count_on_hand": "opening_count"}

    class Meta:
        model = StockItem
        fields = ("stock_location", "variant", "reorder_point", "max_stock_level")

    def service_call(self, user):
        data = self.cleaned_data

        def create():
            item = services.create_stock_item(
                data["stock_location"], data["variant"], backorderable=data.get("backorders"), user=user,
                reorder_point=data.get("reorder_point") or 0, max_stock_level=data.get("max_stock_level"),
            )
            if data.get("opening_count"):
                services.receive(item, data["opening_count"], user=user, value_per_unit=data.get("opening_cost"),
                                 notes="Opening count")
                item.refresh_from_db()
            return item

        return create


class StockItemChangeForm(forms.ModelForm):
    class Meta:
        model = StockItem
        fields = ("backorderable", "reorder_point", "max_stock_level")

    def clean_backorderable(self):
        value = self.cleaned_data["backorderable"]
        if not value and self.instance.count_on_hand < 0:
            raise forms.ValidationError(
                f"The item is {-self.instance.count_on_hand} short; receive or count it before "
                "turning backorders off."
            )
        return value


class ProductAddForm(forms.ModelForm):
    """A product is created with its master variant (services.create_product), so the add page asks for it."""

    sku = forms.CharField(max_length=64, label="Master SKU")
    price = forms.DecimalField(min_value=Decimal("0"), max_digits=12, decimal_places=2, initial=Decimal("0.00"))
    cost_price = forms.DecimalField(required=False, min_value=Decimal("0"), max_digits=12, decimal_places=4)
    options_text = forms.CharField(max_length=255, required=False, label="Master options")

    class Meta:
        model = Product
        fields = ("name", "slug", "description")

    def clean_sku(self):
        sku = self.cleaned_data["sku"].strip()
        if Variant.objects.filter(sku=sku).exists():
            raise forms.ValidationError("A variant with this SKU already exists.")
        return sku


# --- action forms (the intermediate pages of admin actions) -------------------------------------------


class ReceiveForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, help_text="Units received, per item.")
    unit_cost = forms.DecimalField(required=False, min_value=Decimal("0"), max_digits=14, decimal_places=4,
                                   help_text="Empty: each variant's cost price, else the item's running average.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CountForm(forms.Form):
    """One counted quantity per selected item; an item left empty was not counted and is not touched."""

    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, items: list[StockItem], **kwargs):
        super().__init__(*args, **kwargs)
        self.items = items
        for item in items:
            self.fields[self.field_name(item)] = forms.IntegerField(
                required=False, min_value=0, max_value=MAX_QUANTITY,
                label=f"{item.variant.sku} @ {item.stock_location.code}",
                help_text=f"On hand now: {item.count_on_hand}",
            )
        self.order_fields([*(self.field_name(item) for item in items), "notes"])

    @staticmethod
    def field_name(item: StockItem) -> str:
        return f"count_{item.pk}"

    def counts(self) -> dict[int, int]:
        """Counted quantity by stock item id, for the items that were counted."""
        return {item.pk: self.cleaned_data[self.field_name(item)] for item in self.items
                if self.cleaned_data.get(self.field_name(item)) is not None}

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.counts():
            raise forms.ValidationError("Enter a counted quantity for at least one item.")
        return cleaned


class RecountForm(forms.Form):
    fix = forms.BooleanField(required=False, initial=True, label="Repair the drift found",
                             help_text="Unticked: only report.")


class ConfirmForm(forms.Form):
    """Nothing to fill in: the page lists what will happen and asks to confirm."""


class StockLocationForm(forms.ModelForm):
    class Meta:
        model = StockLocation
        fields = ("name", "code", "active", "default", "backorderable_default", "propagate_all_variants")

    def _get_validation_exclusions(self):
        # Making this location the default is allowed: the service unsets the old default first.
        exclusions = super()._get_validation_exclusions()
        exclusions.add("default")
        return exclusions
