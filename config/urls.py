from django.contrib import admin
from django.urls import include, path

from inventory.api.common.docs import SchemaView, SwaggerView
from inventory.api.spree import urls as spree

# Each API family lives in its own package under inventory/api/ and mounts its own routes.
# The ledger feed and warehouse routes come before the Spree routes under /api/v1/ so that
# `inventory...` and `movements/...` never fall through to a Spree pattern.
urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # DRF's own login and logout for the browsable API: its pages (a 401 included) then carry a "Log in"
    # link back to the page asked for. Outside /api/, where every answer is JSON-enveloped.
    path("api-auth/", include("rest_framework.urls")),
    # Spree's routes first under /api/v1/ (the busiest; no path of the other families matches them), its
    # catch-all 404 after every family's routes.
    path("api/v1/", include((spree.routes, "spree"), namespace="spree-v1")),
    path("api/v1/", include("inventory.api.ledger.urls")),
    path("api/v1/", include("inventory.api.warehouse.urls")),
    path("api/v1/", include([spree.not_found_route])),
    path("api/", include(("inventory.api.spree.urls", "spree"), namespace="spree")),
    path("", include("inventory.urls")),
]

# A 400 or 500 raised outside any API view (a disallowed Host, above all) in the family's JSON under /api/.
handler400 = "config.edge.handler400"
handler500 = "config.edge.handler500"
