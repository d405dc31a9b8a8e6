"""OpenAPI pieces every family documents the same way, each in its own envelope.

Any request may be answered 400 (Django refuses to parse it), 429 (throttled) or 503 (the database could
not finish it), whatever the route: each family's schema helpers add these to every operation, with the
family's error serializer, and `FamilyAutoSchema` documents their Retry-After header.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

MALFORMED = ("The request can't be read: a body that is not valid JSON, is over 2.5 MB or ends before its "
             "Content-Length, or more than 1,000 query or form fields.")
THROTTLED = "Too many requests; retry after the Retry-After header's seconds."
UNAVAILABLE = ("The database was busy or unavailable (a lock or statement timeout, a lost connection); nothing was "
               "written. Retry after the Retry-After header's seconds; a write sent again with the same "
               "Idempotency-Key happens once.")

RETRY_AFTER = OpenApiParameter(
    "Retry-After", OpenApiTypes.INT, OpenApiParameter.HEADER, required=True, response=[429, 503],
    description="Seconds to wait before sending the request again.",
)


class FamilyAutoSchema(AutoSchema):
    """Documents the Retry-After header of every operation's 429 and 503 answers (extend_schema's own
    parameters are added to these). Each family documents its envelopes and paging parameters itself, so
    the paginators are not asked to (nor to wrap a list's schema)."""

    def get_override_parameters(self) -> list:
        return [*super().get_override_parameters(), RETRY_AFTER]

    def _get_paginator(self):
        return None


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Describes accounts' API key authentication (both headers) for every family's views; registered
    globally by being defined, and this module is loaded with the URL conf."""

    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = ["bearerAuth", "spreeToken"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer API_KEY"},
            {"type": "apiKey", "in": "header", "name": "X-Spree-Token", "description": "Spree's header."},
        ]

