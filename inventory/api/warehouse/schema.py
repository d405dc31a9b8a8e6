"""OpenAPI helpers for the warehouse views: this family's error responses and parameters."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from inventory.api import schema as shared
from inventory.api.warehouse import serializers as s

ERROR_TEXT = {
    400: shared.MALFORMED,
    401: "Missing or invalid API key.",
    403: "Role too low.",
    404: "Not found.",
    422: "Invalid input or refused by the ledger; nothing written.",
    429: shared.THROTTLED,
    503: shared.UNAVAILABLE,
}


def errors(*statuses: int) -> dict:
    """The operation's own error statuses, and those any request may get (400, 401, 429, 503)."""
    return {code: OpenApiResponse(s.ErrorSerializer, description=ERROR_TEXT[code])
            for code in (400, 401, 429, 503, *statuses)}


def query(name: str, kind=OpenApiTypes.INT, description: str = "", **kwargs) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, description=description, **kwargs)


IDEMPOTENCY = OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                               description="Repeat a POST safely: the same key and body return the first "
                                           "answer and write nothing more (24 hours, per user).")
