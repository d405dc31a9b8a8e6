"""Staff pages outside the admin (the dashboard, the floor's count page), the site root and its icon."""

from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

urlpatterns = [
    path("dashboard/", include("inventory.dashboard.urls")),
    path("floor/", include("inventory.floor.urls")),
    # Browsers ask every site for /favicon.ico; the file lives with the other static files (its URL is
    # looked up per request: a manifest storage knows the hashed name only after collectstatic).
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.ico"), permanent=True)),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
