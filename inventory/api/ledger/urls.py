"""The ledger family: the Katana-style feed and the FIFO product history, as viewsets on a router (a
trailing slash is accepted too, left out of the OpenAPI schema)."""

from inventory.api.common.routers import Router
from inventory.api.ledger.viewsets import InventoryMovementsViewSet, ProductHistoryViewSet

router = Router()
router.register("inventory_movements", InventoryMovementsViewSet, basename="ledger-inventory-movements")
router.register("movements/product/<str:variant_id>", ProductHistoryViewSet, basename="ledger-product-history")

urlpatterns = router.urls
