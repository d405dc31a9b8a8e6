"""Warehouse inventory family, mounted at /api/v1/ (contract section 5). A trailing slash is optional."""

from django.urls import re_path

from inventory.api.warehouse import views

urlpatterns = [
    re_path(r"^inventory/?$", views.InventoryLevelsView.as_view(), name="warehouse-inventory"),
    re_path(r"^inventory/movements/?$", views.MovementsView.as_view(), name="warehouse-movements"),
    re_path(r"^inventory/adjustments/?$", views.AdjustmentsView.as_view(), name="warehouse-adjustments"),
    re_path(r"^inventory/allocations/?$", views.AllocationsView.as_view(), name="warehouse-allocations"),
    re_path(r"^inventory/allocations/(?P<pk>[0-9]+)/?$", views.AllocationDetailView.as_view(),
            name="warehouse-allocation"),
    re_path(r"^inventory/allocations/(?P<pk>[0-9]+)/release/?$", views.AllocationReleaseView.as_view(),
            name="warehouse-allocation-release"),
    re_path(r"^inventory/allocations/(?P<pk>[0-9]+)/fulfil/?$", views.AllocationFulfilView.as_view(),
            name="warehouse-allocation-fulfil"),
    re_path(r"^inventory/analytics/?$", views.AnalyticsView.as_view(), name="warehouse-analytics"),
    re_path(r"^inventory/.*$", views.NotFoundView.as_view(), name="warehouse-not-found"),
]
