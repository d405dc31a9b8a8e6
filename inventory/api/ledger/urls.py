"""The ledger family: the Katana-style feed and the FIFO product history.

A trailing slash is accepted too; those aliases are left out of the OpenAPI schema so that it lists each
route once, under its canonical path.
"""

from django.urls import path
from drf_spectacular.utils import extend_schema

from inventory.api.ledger.views import InventoryMovementsView, ProductHistoryView


def slash_alias(view_class):
    return extend_schema(exclude=True)(type(f"{view_class.__name__}Alias", (view_class,), {})).as_view()


urlpatterns = [
    path("inventory_movements", InventoryMovementsView.as_view(), name="ledger-inventory-movements"),
    path("inventory_movements/", slash_alias(InventoryMovementsView)),
    path("movements/product/<str:variant_id>", ProductHistoryView.as_view(), name="ledger-product-history"),
    path("movements/product/<str:variant_id>/", slash_alias(ProductHistoryView)),
]
