"""FIFO cost layers (batches) and which outbound movement drew from which layer.

Both are derived data: what valuing the ledger produces, deleted and written again by every repost
(`services.repost`), and checked against the ledger by `recount --deep`. Their foreign keys carry no
database constraint: checking each of the 100,000 rows a long correction writes, at its commit, cost
about a second of the lock the correction holds (PostgreSQL checks a row it references with a
FOR KEY SHARE lock). Django still deletes them with their movement or item (on_delete CASCADE)."""

from __future__ import annotations

from django.db import models

from inventory.models.ledger import StockMovement
from inventory.models.stock import StockItem


class CostLayer(models.Model):
    """A batch received at one unit cost. A layer with negative quantities records units sold short on
    a backorderable item, costed provisionally; the next receipt settles it (see services.valuation)."""

    stock_item = models.ForeignKey(StockItem, on_delete=models.CASCADE, related_name="cost_layers",
                                   db_constraint=False)
    movement = models.ForeignKey(StockMovement, on_delete=models.CASCADE, related_name="cost_layers",
                                 db_constraint=False)
    unit_cost = models.DecimalField(max_digits=14, decimal_places=4)
    quantity_received = models.IntegerField()
    quantity_remaining = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Valuing a movement reads only the open layers; on a busy item almost all are used up.
            models.Index(fields=["stock_item", "id"], condition=~models.Q(quantity_remaining=0),
                         name="layer_open_idx"),
            # A receipt settles open shortfalls first: found without walking the open batches.
            models.Index(fields=["stock_item", "id"], condition=models.Q(quantity_remaining__lt=0),
                         name="layer_shortfall_idx"),
        ]

    def __str__(self) -> str:
        return f"batch {self.pk}: {self.quantity_remaining}/{self.quantity_received} @ {self.unit_cost}"

    @property
    def is_shortfall(self) -> bool:
        return self.quantity_received < 0


class LayerConsumption(models.Model):
    """`quantity` units of `layer` consumed (or, for a shortfall layer, settled) by `movement`."""

    movement = models.ForeignKey(StockMovement, on_delete=models.CASCADE, related_name="consumptions",
                                 db_constraint=False)
    layer = models.ForeignKey(CostLayer, on_delete=models.CASCADE, related_name="consumptions", db_constraint=False)
    quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField(max_digits=14, decimal_places=4)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} of batch {self.layer_id} by movement {self.movement_id}"
