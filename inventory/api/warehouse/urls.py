"""Warehouse inventory family, mounted at /api/v1/ (contract section 5).

Each route is also answered with a trailing slash; only the contract's spelling is in the schema."""

from django.urls import path, re_path
from drf_spectacular.utils import extend_schema

from inventory.api.warehouse import views


def route(pattern: str, view, name: str) -> list:
    unlisted = extend_schema(exclude=True)(type(f"{view.__name__}Slash", (view,), {}))
    return [path(pattern, view.as_view(), name=name), path(f"{pattern}/", unlisted.as_view())]


urlpatterns = [
    *route("inventory", views.InventoryLevelsView, "warehouse-inventory"),
    *route("inventory/movements", views.MovementsView, "warehouse-movements"),
    *route("inventory/adjustments", views.AdjustmentsView, "warehouse-adjustments"),
    *route("inventory/allocations", views.AllocationsView, "warehouse-allocations"),
    *route("inventory/allocations/<int:pk>", views.AllocationDetailView, "warehouse-allocation"),
    *route("inventory/allocations/<int:pk>/release", views.AllocationReleaseView, "warehouse-allocation-release"),
    *route("inventory/allocations/<int:pk>/fulfil", views.AllocationFulfilView, "warehouse-allocation-fulfil"),
    *route("inventory/analytics", views.AnalyticsView, "warehouse-analytics"),
    # [\s\S] rather than `.`: a path with an encoded newline (%0A) is unknown too, not a fall-through to HTML.
    re_path(r"^inventory/[\s\S]*$", views.NotFoundView.as_view(), name="warehouse-not-found"),
]
