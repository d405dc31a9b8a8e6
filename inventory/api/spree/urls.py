"""Spree v1 routes. config/urls.py mounts them twice: under /api/v1/ (namespace "spree-v1": the routes first,
ahead of the other families', and the catch-all 404 after theirs) and under /api/ (namespace "spree"); the
OpenAPI schema lists the /api/v1/ routes only (see schema.py).

Viewsets on routers, the nested ones through drf-nested-routers; both spellings of each path are served
(inventory/api/common/routers.py). Anything else under these mounts answers Spree's 404 JSON rather than
Django's HTML page.
"""

from django.urls import re_path

from inventory.api.common.routers import NestedRouter, Router
from inventory.api.spree import fast_lane
from inventory.api.spree.errors import not_found
from inventory.api.spree.viewsets import catalog, stock

router = Router()
router.register("products", catalog.ProductViewSet, basename="product")
router.register("variants", catalog.VariantViewSet, basename="variant")
router.register("stock_locations", catalog.StockLocationViewSet, basename="stock-location")
router.register("stock_items", stock.UnnestedStockItemViewSet, basename="stock-item-unnested")

products = NestedRouter(router, "products")
products.register("variants", catalog.ProductVariantViewSet, basename="product-variant")

locations = NestedRouter(router, "stock_locations")
locations.register("stock_movements", stock.StockMovementViewSet, basename="stock-movement")
locations.register("stock_items", stock.StockItemViewSet, basename="stock-item")
# The singular path one Spree document uses, for DELETE.
locations.register("stock_movement", stock.SingularStockMovementViewSet, basename="stock-movement-singular")

# Matched in order, and no two routes overlap: the busiest (a location's movements and items) come first.
routes = [*locations.urls, *router.urls, *products.urls]
# Plain movement POSTs are answered in front of the viewset (fast_lane).
for route in routes:
    if getattr(route.callback, "cls", None) is stock.StockMovementViewSet and "post" in route.callback.actions:
        route.callback = fast_lane.in_front_of(route.callback)

# [\s\S] rather than `.`: a path with an encoded newline (%0A) is unknown too, not a fall-through to HTML.
not_found_route = re_path(r"^[\s\S]*$", not_found, name="not-found")

urlpatterns = [*routes, not_found_route]
