"""What each Spree index lets clients search and sort on (`q[...]`, read by inventory.search.backends.RansackFilter),
and its default order (newest first)."""

from __future__ import annotations

from inventory.models import MovementFigures, Product, StockItem, StockLocation, StockMovement, Variant
from inventory.search.ransack import INT, STR, Field, Relation, Searchable, model_fields

PRODUCT_FIELDS = model_fields(Product, "id", "name", "slug", "description", "created_at", "updated_at",
                              "deleted_at")

VARIANT = Searchable(
    fields={
        **model_fields(Variant, "id", "sku", "price", "cost_price", "is_master", "track_inventory", "options_text",
                       "weight", "height", "width", "depth", "product_id", "created_at", "updated_at",
                       "deleted_at"),
        "name": Field(STR, lookup="product__name"),
    },
    relations={"product": Relation("product", Searchable(fields=PRODUCT_FIELDS))},
)

PRODUCTS = Searchable(
    fields=PRODUCT_FIELDS,
    # Spree's name for "all of a product's variants": q[variants_including_master_sku_eq]=ROR-00011.
    relations={"variants_including_master": Relation("variants", Searchable(fields=VARIANT.fields), many=True)},
)

LOCATION_FIELDS = model_fields(StockLocation, "id", "name", "code", "active", "default", "backorderable_default",
                               "propagate_all_variants", "created_at", "updated_at")
STOCK_LOCATIONS = Searchable(fields=LOCATION_FIELDS)

STOCK_ITEMS = Searchable(
    fields=model_fields(StockItem, "id", "count_on_hand", "backorderable", "quantity_allocated", "reorder_point",
                        "max_stock_level", "last_counted_at", "variant_id", "stock_location_id", "created_at",
                        "updated_at"),
    relations={"variant": Relation("variant", VARIANT)},
)

STOCK_MOVEMENTS = Searchable(
    fields={
        **model_fields(StockMovement, "id", "quantity", "action", "stock_item_id", "movement_date",
                       "resource_type", "resource_id", "caused_by_order_no", "caused_by_resource_id", "notes",
                       "created_at"),
        # Kept with the movement's running figures (inventory.models.MovementFigures).
        **{name: Field(spec.kind, lookup=f"figures__{spec.lookup}")
           for name, spec in model_fields(MovementFigures, "balance_after", "updated_at").items()},
        # The item's location is also the movement's own column: searched there, without the join.
        "stock_item_stock_location_id": Field(INT, lookup="stock_location_id"),
    },
    relations={"stock_item": Relation("stock_item", STOCK_ITEMS)},
    default_order=("-movement_date", "-id"),
)
