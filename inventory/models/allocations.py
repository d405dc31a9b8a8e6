from __future__ import annotations

from django.conf import settings
from django.db import models

from inventory.models.ledger import StockMovement
from inventory.models.stock import StockItem


class Allocation(models.Model):
    """Stock reserved for an order. Changes `quantity_allocated`, never `count_on_hand`, until fulfilled."""

    class Status(models.TextChoices):
        ALLOCATED = "allocated", "Allocated"
        RELEASED = "released", "Released"
        FULFILLED = "fulfilled", "Fulfilled"

    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="allocations")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ALLOCATED)
    reference_type = models.CharField(max_length=64, blank=True, default="")
    reference_id = models.CharField(max_length=64, blank=True, default="")
    fulfilment_movement = models.OneToOneField(StockMovement, null=True, blank=True, on_delete=models.PROTECT,
                                               related_name="allocation")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="allocation_quantity_positive"),
        ]
        indexes = [models.Index(fields=["stock_item", "status"], name="allocation_item_status_idx")]

    def __str__(self) -> str:
        return f"allocation {self.pk}: {self.quantity} of item {self.stock_item_id} ({self.status})"
