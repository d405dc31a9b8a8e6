"""The ledger: one row per change of stock, and the audit trail of edits to it."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from inventory.models.actions import Action
from inventory.models.stock import StockItem, StockLocation


class StockMovement(models.Model):
    # Every index costs each write and each row a correction rewrites (measured: a quarter of a second per index
    # for a tail of 80,000 movements), so the table carries only the indexes reads need: the foreign keys
    # have none of their own where a composite index starts with them or where they are mostly NULL (partial).
    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="movements", db_index=False)
    # Always the item's location (an item never moves), copied here so that a location's ledger is read
    # from this table's own indexes instead of a join to every item. No index of its own: the composite
    # indexes below start with it.
    stock_location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="movements",
                                       db_index=False)
    quantity = models.IntegerField()
    action = models.CharField(max_length=20, choices=Action.choices)
    movement_date = models.DateTimeField(db_index=False)
    # True when an inbound unit cost was given (or taken from the variant's cost price) rather than
    # derived from the running average, so that reposting keeps it (figures.value_per_unit).
    unit_cost_fixed = models.BooleanField(default=False)
    # What caused the movement, settable through every API that creates movements.
    resource_type = models.CharField(max_length=64, blank=True, default="")
    resource_id = models.CharField(max_length=64, blank=True, default="")
    caused_by_order_no = models.CharField(max_length=64, blank=True, default="")
    caused_by_resource_id = models.CharField(max_length=64, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    transfer = models.ForeignKey("inventory.StockTransfer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="movements", db_index=False)
    # The transferred_out leg a transferred_in leg takes its cost from.
    source_movement = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="destination_movements", db_index=False)
    # No index: nothing reads movements by author, and deleting a user (who is better deactivated: the
    # ledger keeps who recorded what) may scan the table once.
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-movement_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(quantity=0), name="movement_quantity_not_zero"),
        ]
        indexes = [
            models.Index(fields=["stock_item", "movement_date", "id"], name="movement_item_date_idx"),
            models.Index(fields=["created_at"], name="movement_created_idx"),
            # The ledger feed by variant and created_at range finds a page's ids from this index alone
            # (index-only scan), then reads just those rows.
            models.Index(fields=["stock_item", "created_at", "id"], name="movement_item_created_idx"),
            models.Index(fields=["caused_by_order_no"], name="movement_order_no_idx"),
            models.Index(fields=["resource_type", "resource_id"], name="movement_resource_idx"),
            # A location's movements (the Spree index), read backwards from the index alone: in the default
            # order (newest movement_date first; also the dashboard's date ranges at one location), and by
            # action in created_at order.
            models.Index(fields=["stock_location", "movement_date", "id"], name="movement_location_date_idx"),
            models.Index(fields=["stock_location", "action", "created_at", "id"], name="movement_loc_act_created_idx"),
            # The dashboard's and reports' date ranges over every location.
            models.Index(fields=["movement_date"], name="movement_date_idx"),
            models.Index(fields=["transfer"], condition=models.Q(transfer__isnull=False), name="movement_transfer_idx"),
            models.Index(fields=["source_movement"], condition=models.Q(source_movement__isnull=False),
                         name="movement_source_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.quantity:+d} on item {self.stock_item_id}"

    @property
    def is_inbound(self) -> bool:
        return self.quantity > 0

    @property
    def running_figures(self) -> MovementFigures:
        """The movement's figures, made (unsaved) for a movement that has none yet."""
        try:
            return self.figures
        except MovementFigures.DoesNotExist:
            self.figures = MovementFigures(movement=self, stock_item_id=self.stock_item_id, quantity=self.quantity)
            return self.figures


class MovementFigures(models.Model):
    """The running figures of one movement: what valuing its item's ledger in (movement_date, id) order gives
    it, and when they (or the movement) last changed.

    A table of their own, one row per movement: a correction rewrites the figures of every movement after
    the one it changes, up to tens of thousands of rows, and an UPDATE inserts a new entry into every index
    of its table. The movement table carries the indexes the reads need (about ten); this one two (measured
    on PostgreSQL for a tail of 80,000 movements: 3.2 s on the movement table, 0.45 s here). Its copies of
    the movement's item and quantity let `recount` check a ledger from this narrow table alone.
    Written only by the valuation (`services.movements`, `services.repost`)."""

    movement = models.OneToOneField(StockMovement, primary_key=True, on_delete=models.CASCADE,
                                    related_name="figures")
    stock_item = models.ForeignKey(StockItem, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False,
                                   db_index=False)
    quantity = models.IntegerField()
    rank = models.PositiveIntegerField(default=0)
    balance_after = models.IntegerField(default=0)
    value_per_unit = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    total_cost = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    value_in_stock_after = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    average_cost_after = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    # The exact value in stock after this movement, unrounded (it never has more than 4 places):
    # value_in_stock_after is it rounded to cents. A correction restores the valuation from the movement
    # before it, and an append from the newest movement, without summing the open cost layers.
    running_value = models.DecimalField(max_digits=20, decimal_places=4, default=0)
    # The movement's updated_at: moved by any change of the movement or of its figures (the feed's
    # updated_at_min sync sees a reposted movement).
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["updated_at"], name="figures_updated_idx"),
            # recount's default pass compares each item's cached figures with its newest movement's, found at
            # rank n from this index alone (an index-only probe per item).
            models.Index(fields=["stock_item", "rank"], name="figures_item_rank_idx",
                         include=["value_in_stock_after", "average_cost_after", "running_value"]),
        ]

    def __str__(self) -> str:
        return f"figures of movement {self.movement_id}"


FIGURE_FIELDS = ("rank", "balance_after", "value_per_unit", "total_cost", "value_in_stock_after",
                 "average_cost_after", "running_value", "updated_at")


def _figure_property(name: str) -> property:
    def get(movement: StockMovement):
        return getattr(movement.running_figures, name)

    def set_(movement: StockMovement, value) -> None:
        setattr(movement.running_figures, name, value)

    return property(get, set_, doc=f"The movement's figures.{name}.")


# A movement's figures read and set like its own fields (`movement.balance_after`); querysets that render
# them select_related("figures"), and ORM lookups go through the relation (`figures__balance_after`).
for _name in FIGURE_FIELDS:
    setattr(StockMovement, _name, _figure_property(_name))


class MovementAudit(models.Model):
    """Who changed or deleted a movement, when, and its fields before and after."""

    class Operation(models.TextChoices):
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete"

    movement = models.ForeignKey(StockMovement, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="audits")
    movement_ref = models.BigIntegerField(help_text="Id of the movement, kept after it is deleted.")
    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="movement_audits")
    operation = models.CharField(max_length=10, choices=Operation.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    before = models.JSONField()
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["movement_ref"], name="audit_movement_ref_idx")]

    def __str__(self) -> str:
        return f"{self.operation} movement #{self.movement_ref}"
