from __future__ import annotations

from django.conf import settings
from django.db import models

from inventory.models.stock import StockLocation


class StockTransfer(models.Model):
    """Stock moved between two locations: per line, a transferred_out and a transferred_in movement."""

    number = models.CharField(max_length=32, unique=True)
    source_location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="transfers_out")
    destination_location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="transfers_in")
    reference = models.CharField(max_length=255, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(source_location=models.F("destination_location")),
                                   name="transfer_distinct_locations"),
        ]

    def __str__(self) -> str:
        return self.number
