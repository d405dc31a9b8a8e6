"""Staff pages outside the admin (the dashboard) and the site root."""

from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("dashboard/", include("inventory.dashboard.urls")),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
