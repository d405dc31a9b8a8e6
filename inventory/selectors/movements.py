"""Read-only movement querysets of the API families."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from inventory.models import StockMovement
from inventory.selectors.stock import stock_totals_annotations


def spree_rows() -> QuerySet[StockMovement]:
    """Movements with what a Spree movement row shows: item, variant, product, and the variant's stock
    totals as subqueries (one query for a whole page)."""
    return StockMovement.objects.select_related("stock_item__variant__product").annotate(
        **stock_totals_annotations("stock_item__variant"))


def warehouse_rows() -> QuerySet[StockMovement]:
    """Movements with what a warehouse movement row shows, a transfer's incoming leg included (`in_legs`)."""
    return StockMovement.objects.select_related(
        "figures", "stock_item__variant__product", "stock_item__stock_location", "created_by", "transfer"
    ).prefetch_related(
        Prefetch("destination_movements", queryset=StockMovement.objects.only("id", "source_movement_id"),
                 to_attr="in_legs")
    )
