"""Warehouse inventory family, mounted at /api/v1/ (contract section 5): viewsets on a router, each route
also answered with a trailing slash (left out of the schema)."""

from django.urls import re_path

from inventory.api.common.routers import Router
from inventory.api.warehouse import viewsets

router = Router()
router.register("inventory", viewsets.InventoryViewSet, basename="warehouse-inventory")
router.register("inventory/movements", viewsets.MovementViewSet, basename="warehouse-movements")
router.register("inventory/allocations", viewsets.AllocationViewSet, basename="warehouse-allocations")

urlpatterns = [
    *router.urls,
    # [\s\S] rather than `.`: a path with an encoded newline (%0A) is unknown too, not a fall-through to HTML.
    re_path(r"^inventory/[\s\S]*$", viewsets.NotFoundViewSet.as_view({m: "_not_found" for m in
                                                                       ("get", "post", "put", "patch", "delete")}),
            name="warehouse-not-found"),
]
