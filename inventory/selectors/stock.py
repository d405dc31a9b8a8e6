"""Read-only queries of the catalogue and stock levels that the API families share."""

from __future__ import annotations

from django.db import connections, router
from django.db.models import Exists, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from inventory.models import Allocation, Product, StockItem, Variant
from inventory.rawsql import placeholders, table


def products(*, include_deleted: bool = False) -> QuerySet[Product]:
    """Products with their variants (master first), soft-deleted ones only when asked."""
    qs = Product.objects.prefetch_related(Prefetch("variants", queryset=Variant.objects.order_by("-is_master", "id")))
    return qs if include_deleted else qs.filter(deleted_at__isnull=True)


def variants(*, include_deleted: bool = False) -> QuerySet[Variant]:
    qs = Variant.objects.select_related("product")
    return qs if include_deleted else qs.filter(deleted_at__isnull=True)


def stock_items() -> QuerySet[StockItem]:
    return StockItem.objects.select_related("variant__product")


def allocations() -> QuerySet[Allocation]:
    return Allocation.objects.select_related("stock_item__variant__product", "stock_item__stock_location",
                                             "created_by")


# --- a variant's stock over every location (Spree's total_on_hand, in_stock, is_backorderable) ----------


def attach_stock_totals(variants) -> None:
    """Set `stock_total` and `stock_backorderable` on each variant with one query for all of them, so a
    page of movements, items or products costs the same whatever its size. Discarded items do not count."""
    variants = [v for v in variants if v is not None]
    ids = sorted({v.pk for v in variants})
    if not ids:
        return
    # Written out: every movement POST renders one, and building it with the ORM cost more than running it.
    with connections[router.db_for_read(StockItem)].cursor() as cursor:
        cursor.execute(
            f"SELECT variant_id, SUM(count_on_hand), SUM(CASE WHEN backorderable THEN 1 ELSE 0 END)"
            f" FROM {table(StockItem)} WHERE variant_id IN ({placeholders(len(ids))}) AND deleted_at IS NULL"
            f" GROUP BY variant_id", ids)
        totals = {variant_id: (total or 0, bool(backorderable)) for variant_id, total, backorderable in cursor}
    for variant in variants:
        variant.stock_total, variant.stock_backorderable = totals.get(variant.pk, (0, False))


def stock_totals_annotations(variant: str) -> dict:
    """`attach_stock_totals` as subqueries of a row query, for rows that reach a variant through the
    relation path `variant` (e.g. "stock_item__variant"): the page then costs no query for them.
    `take_stock_totals` moves the figures onto the variants."""
    items = StockItem.objects.filter(variant_id=OuterRef(f"{variant}_id"), deleted_at__isnull=True).order_by()
    return {
        "variant_stock_total": Coalesce(
            Subquery(items.values("variant_id").annotate(total=Sum("count_on_hand")).values("total")), 0),
        "variant_stock_backorderable": Exists(items.filter(backorderable=True)),
    }


def take_stock_totals(row, variant: Variant) -> None:
    """Set what `attach_stock_totals` would on `variant`, from `row`'s `stock_totals_annotations`."""
    variant.stock_total, variant.stock_backorderable = row.variant_stock_total, row.variant_stock_backorderable
