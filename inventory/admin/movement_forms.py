"""The "add stock movement" form: what happened (receive, sell, return, adjust, transfer) and how many
units, always a positive number; the sign and the ledger action follow from the choice. Written through
the same services as the API (record_movement, transfer)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.admin import widgets

from inventory import services
from inventory.admin.forms import CAUSE_FIELDS, ServiceFormMixin, cause_of
from inventory.models import Action, StockLocation, StockMovement
from inventory.services.rules import MAX_QUANTITY

TRANSFER = "transfer"
# choice -> (ledger action, sign). Counts are not typed here: they go through the count actions and upload.
ENTRIES = {
    "receive": (Action.RECEIVED, 1),
    "sell": (Action.SOLD, -1),
    "return": (Action.RETURNED, 1),
    "adjust_up": (Action.ADJUSTED, 1),
    "adjust_down": (Action.ADJUSTED, -1),
    TRANSFER: (Action.TRANSFERRED_OUT, -1),
}
ENTRY_CHOICES = [
    ("receive", "Receive (units arrive from a supplier)"),
    ("sell", "Sell (units leave with an order)"),
    ("return", "Return (a customer brings units back)"),
    ("adjust_up", "Adjust up (units found, a correction)"),
    ("adjust_down", "Adjust down (units damaged or lost)"),
    (TRANSFER, "Transfer to another location"),
]


class MovementAddForm(ServiceFormMixin, forms.ModelForm):
    action = forms.ChoiceField(choices=ENTRY_CHOICES, label="What happened")
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, label="Units",
                                  help_text="How many units, always positive: the action says which way they go.")
    destination = forms.ModelChoiceField(queryset=StockLocation.objects.filter(active=True), required=False,
                                         label="Transfer to", help_text="Transfers only: where the units go.")
    movement_date = forms.SplitDateTimeField(
        required=False, widget=widgets.AdminSplitDateTime,
        help_text="Leave empty for now. An earlier date backdates the movement and reposts the item's ledger.",
    )
    value_per_unit = forms.DecimalField(
        required=False, min_value=Decimal("0"), max_digits=14, decimal_places=4, label="Unit cost",
        help_text="Units coming in only. Empty: the variant's cost price, else the item's running average.",
    )

    field_aliases = {"stock_item_id": "stock_item", "lines": "quantity"}

    class Meta:
        model = StockMovement
        fields = ("stock_item", "action", "quantity", "destination", "movement_date", "value_per_unit", "notes",
                  *CAUSE_FIELDS)

    def _get_validation_exclusions(self):
        # `action` and `quantity` are the form's vocabulary (sell, 3), not the ledger's (sold, -3): the
        # service validates the movement it is given.
        exclusions = super()._get_validation_exclusions()
        exclusions.update({"action", "quantity"})
        return exclusions

    def clean(self):
        data = self.cleaned_data
        if data.get("action") == TRANSFER:
            if data.get("destination") is None:
                self.add_error("destination", "Choose the location the units go to.")
            if data.get("movement_date"):
                self.add_error("movement_date", "A transfer happens now; leave the date empty.")
            if data.get("value_per_unit") is not None:
                self.add_error("value_per_unit", "A transfer moves units at their cost; leave the unit cost empty.")
        elif data.get("destination") is not None:
            self.add_error("destination", "Only a transfer goes to another location.")
        return super().clean()

    def service_call(self, user):
        data = self.cleaned_data
        action, sign = ENTRIES[data["action"]]
        item, quantity = data["stock_item"], data["quantity"]
        if data["action"] == TRANSFER:
            def move():
                transfer = services.transfer(item.stock_location, data["destination"], [(item.variant_id, quantity)],
                                             user=user, notes=data.get("notes") or "", cause=cause_of(data))
                return transfer.movements.get(stock_item_id=item.pk)
            return move
        return lambda: services.record_movement(services.MovementRequest(
            stock_item=item, quantity=sign * quantity, action=action, movement_date=data.get("movement_date"),
            value_per_unit=data.get("value_per_unit"), notes=data.get("notes") or "", cause=cause_of(data),
        ), user=user)
