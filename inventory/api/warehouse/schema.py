"""OpenAPI helpers for the warehouse views: this family's error responses and parameters."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from inventory.api.common import schema as shared
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
                                           "answer and write nothing more (24 hours by default, per user); a repeat "
                                           "sent while the first runs waits for its answer, or gets 409 with "
                                           "Retry-After.")


def transition_schema(name: str, summary: str, description: str):
    return extend_schema(
        operation_id=f"warehouse_allocations_{name}", summary=summary, description=description,
        parameters=[IDEMPOTENCY], request=None,
        responses={200: s.envelope(f"WarehouseAllocation{name.title()}Response", s.AllocationSerializer()),
                   **errors(403, 404, 422)},
        tags=["warehouse"],
    )
