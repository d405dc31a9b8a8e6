"""The OpenAPI schema and its Swagger UI page, for signed-in callers only unless STOCKROOM_PUBLIC_API_DOCS
opens them: the schema lists every route, parameter and limit, which a stranger has no need to read.

- `/api/schema/`: any authenticated caller (an API key, or a staff session); a stranger gets a 401 in the
  Spree envelope, the family of `/api/`.
- `/api/docs/`: a signed-in browser session; a stranger is sent to the admin login, then back. The page
  loads its start-up script from the same URL (`?script=`) rather than inline, as the Content-Security-
  Policy requires.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer

from inventory.api.common.errors import FamilyErrorsMixin
from inventory.api.spree.errors import spree_exception_handler


def docs_are_public() -> bool:
    return bool(getattr(settings, "STOCKROOM_PUBLIC_API_DOCS", False))


class DocsPermission(BasePermission):
    """Read at each request, so that a test (or a settings override) can open the documents."""

    def has_permission(self, request, view) -> bool:
        return docs_are_public() or bool(request.user and request.user.is_authenticated)


class _JsonErrors(FamilyErrorsMixin):
    """Errors in the Spree envelope, in JSON, whichever document format was asked for."""

    error_handler = staticmethod(spree_exception_handler)
    permission_classes = [DocsPermission]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return response


class SchemaView(_JsonErrors, SpectacularAPIView):
    pass


class SwaggerView(_JsonErrors, SpectacularSwaggerSplitView):

    def dispatch(self, request, *args, **kwargs):
        if request.method in ("GET", "HEAD") and not docs_are_public() and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().dispatch(request, *args, **kwargs)
