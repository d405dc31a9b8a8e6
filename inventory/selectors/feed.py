"""Read-only queries of the ledger family: the Katana-style feed's rows and a product's FIFO history."""

from __future__ import annotations

from django.db.models import F, QuerySet

from inventory.models import CostLayer, LayerConsumption, StockMovement

FEED_COLUMNS = (
    "id", "resource_type", "resource_id", "caused_by_order_no", "caused_by_resource_id", "movement_date",
    "quantity", "created_at",
)
# Kept with the movement's running figures (inventory.models.MovementFigures).
FEED_FIGURES = ("balance_after", "value_per_unit", "value_in_stock_after", "average_cost_after", "rank",
                "updated_at")
# Newest recorded first. (created_at, id) is a total order, so pages never overlap or skip rows.
FEED_ORDER = ("-created_at", "-id")
# Newest first in ledger order, so an EXIT always sits above the ENTRY batches it drew from.
HISTORY_ORDER = ("-movement_date", "-id")


def feed_rows() -> QuerySet:
    """The feed's rows as dicts, with the stock item's variant and location joined in."""
    return StockMovement.objects.values(*FEED_COLUMNS, variant_id=F("stock_item__variant_id"),
                                        location_id=F("stock_item__stock_location_id"),
                                        **{name: F(f"figures__{name}") for name in FEED_FIGURES})


def history_matching(variant_id: int) -> QuerySet[StockMovement]:
    """The variant's movements at every location."""
    return StockMovement.objects.filter(stock_item__variant_id=variant_id).order_by(*HISTORY_ORDER)


def history_rows() -> QuerySet[StockMovement]:
    return StockMovement.objects.select_related("created_by", "figures").only(
        "id", "quantity", "action", "figures__value_per_unit", "figures__total_cost", "notes", "created_at",
        "movement_date", "created_by__username", "created_by__first_name", "created_by__last_name",
    )


def history_batches(movement_ids: list[int]) -> dict[int, list[int]]:
    """movement id -> ids of the FIFO batches it created (inbound, or a shortfall batch when selling short)
    or drew from / settled, oldest first. Two queries whatever the number of movements."""
    batches: dict[int, set[int]] = {}
    created = CostLayer.objects.filter(movement_id__in=movement_ids).order_by().values_list("movement_id", "id")
    drawn = (LayerConsumption.objects.filter(movement_id__in=movement_ids).order_by()
             .values_list("movement_id", "layer_id"))
    for movement_id, layer_id in (*created, *drawn):
        batches.setdefault(movement_id, set()).add(layer_id)
    return {movement_id: sorted(ids) for movement_id, ids in batches.items()}
