"""Spree v1 routes. config/urls.py mounts this module twice: under /api/v1/ (namespace "spree-v1") and
under /api/ (namespace "spree"); the OpenAPI schema lists the /api/v1/ routes only (see schema.py).

Spree clients send paths without a trailing slash; both spellings are served (never a redirect, which
a client would follow with a GET). Only the slash-less one is in the OpenAPI schema. Anything else
under these mounts answers Spree's 404 JSON rather than Django's HTML page.
"""

from django.urls import path, re_path

from inventory.api.spree import views
from inventory.api.spree.errors import not_found


def route(pattern: str, view, name: str) -> list:
    return [
        path(pattern, view.as_view(), name=name),
        path(pattern + "/", view.as_view(schema=None), name=name + "-slash"),
    ]


urlpatterns = [
    *route("products", views.ProductListView, "products"),
    *route("products/<str:product_id>", views.ProductDetailView, "product"),
    *route("products/<str:product_id>/variants", views.ProductVariantListView, "product-variants"),
    *route("variants/<int:variant_id>", views.VariantDetailView, "variant"),
    *route("stock_locations", views.StockLocationListView, "stock-locations"),
    *route("stock_locations/<int:location_id>", views.StockLocationDetailView, "stock-location"),
    *route("stock_locations/<int:location_id>/stock_items", views.StockItemListView, "stock-items"),
    *route("stock_locations/<int:location_id>/stock_items/<int:item_id>", views.StockItemDetailView,
           "stock-item"),
    *route("stock_locations/<int:location_id>/stock_movements", views.StockMovementListView, "stock-movements"),
    *route("stock_locations/<int:location_id>/stock_movements/<int:movement_id>", views.StockMovementDetailView,
           "stock-movement"),
    *route("stock_locations/<int:location_id>/stock_movement/<int:movement_id>", views.StockMovementSingularView,
           "stock-movement-singular"),
    # [\s\S] rather than `.`: a path with an encoded newline (%0A) is unknown too, not a fall-through to HTML.
    re_path(r"^[\s\S]*$", not_found, name="not-found"),
]
