"""Where stock lives: locations and the stock item of a variant at a location."""

from __future__ import annotations

import functools
import operator
from decimal import Decimal

from django.db import models
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from inventory.models.actions import Action
from inventory.models.catalog import Variant


class Country(models.Model):
    """A country of a stock location's address, as Spree names one."""

    iso = models.CharField(max_length=2, unique=True)
    iso3 = models.CharField(max_length=3, blank=True)
    iso_name = models.CharField(max_length=255, blank=True)
    name = models.CharField(max_length=255)
    numcode = models.IntegerField(null=True, blank=True)
    states_required = models.BooleanField(default=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "countries"

    def __str__(self) -> str:
        return self.name


class State(models.Model):
    """A state (region) of a country, as Spree names one."""

    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="states")
    name = models.CharField(max_length=255)
    abbr = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["country_id", "name", "id"]

    def __str__(self) -> str:
        return self.name


class StockLocation(models.Model):
    name = models.CharField(max_length=255)
    code = models.CharField(max_length=32, unique=True)
    active = models.BooleanField(default=True)
    default = models.BooleanField(default=False)
    backorderable_default = models.BooleanField(default=False)
    propagate_all_variants = models.BooleanField(default=True)
    # Spree's address fields, all optional. `state_name` is for a state that is not in State.
    address1 = models.CharField(max_length=255, null=True, blank=True)
    address2 = models.CharField(max_length=255, null=True, blank=True)
    city = models.CharField(max_length=255, null=True, blank=True)
    zipcode = models.CharField(max_length=32, null=True, blank=True)
    phone = models.CharField(max_length=64, null=True, blank=True)
    state = models.ForeignKey(State, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    state_name = models.CharField(max_length=255, null=True, blank=True)
    country = models.ForeignKey(Country, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # At most one default location, whoever writes (the services clear the old default first).
            models.UniqueConstraint(fields=["default"], condition=models.Q(default=True),
                                    name="stock_location_one_default"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


def counters_total():
    """The sum of a stock item's movement counters (a JSON object of action -> count), as an expression."""
    return functools.reduce(operator.add, [
        Coalesce(Cast(KT(f"movement_counts__{action}"), models.IntegerField()), 0) for action in Action.values])


class StockItem(models.Model):
    """One variant at one location. `count_on_hand`, `value_in_stock` and `average_cost` are caches
    of the item's movement ledger, written only by `inventory.services`."""

    stock_location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="stock_items")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="stock_items")
    count_on_hand = models.IntegerField(default=0, editable=False)
    quantity_allocated = models.IntegerField(default=0, editable=False)
    backorderable = models.BooleanField(default=False)
    reorder_point = models.IntegerField(default=0)
    max_stock_level = models.IntegerField(null=True, blank=True)
    last_counted_at = models.DateTimeField(null=True, blank=True, editable=False)
    value_in_stock = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0.00"), editable=False)
    average_cost = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"), editable=False)
    # The newest movement's exact running value (value_in_stock is it rounded) and date: where the next
    # movement is appended and what it is valued from, read with the item's lock instead of a query.
    running_value = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"), editable=False)
    last_movement_at = models.DateTimeField(null=True, blank=True, editable=False)
    # How many movements of each action the item's ledger holds ({"sold": 12, ...}), kept in the same
    # UPDATE as count_on_hand: a location's movement count for the Spree index is then a sum over its
    # items instead of a count over its whole ledger. A cache of the ledger like the figures above.
    movement_counts = models.JSONField(default=dict, editable=False)
    # Their sum, the item's whole ledger: the unfiltered index's count sums one integer per item instead of
    # eight JSON fields (8 of a page's 22 ms at 5,000 items). Kept with the counters (`services.movement_counts`).
    movement_total = models.PositiveIntegerField(default=0, editable=False)
    # Set when the item is deleted with a ledger (Solidus's discard): hidden from the APIs' item lists and
    # lookups, its history kept; a new write of its variant at its location brings it back.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["stock_location_id", "variant_id"]
        constraints = [
            models.UniqueConstraint(fields=["stock_location", "variant"], name="stock_item_unique_location_variant"),
            models.CheckConstraint(condition=models.Q(quantity_allocated__gte=0),
                                   name="stock_item_allocated_not_negative"),
            models.CheckConstraint(condition=models.Q(reorder_point__gte=0),
                                   name="stock_item_reorder_point_not_negative"),
            # The counters add up to their total in every row the database holds, so `recount` need only
            # compare the total with the ledger (seven JSON look-ups per item were a tenth of its time).
            models.CheckConstraint(condition=models.Q(movement_total=counters_total()),
                                   name="stock_item_counters_add_up"),
        ]

    def __str__(self) -> str:
        return f"{self.variant.sku} @ {self.stock_location.code}"

    @property
    def num_available(self) -> int:
        """On hand less what is reserved for orders."""
        return self.count_on_hand - self.quantity_allocated
