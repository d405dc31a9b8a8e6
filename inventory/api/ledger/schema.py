"""OpenAPI helpers for the ledger views: the error responses of the feed (Katana's envelope) and of the
product history (its own)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse

from inventory.api.common import schema as shared
from inventory.api.ledger.serializers import HistoryErrorSerializer, KatanaErrorSerializer


def _error_responses(serializer, statuses: dict[int, str]) -> dict:
    return {status: OpenApiResponse(serializer, description=text) for status, text in statuses.items()}


KATANA_ERRORS = _error_responses(KatanaErrorSerializer, {
    400: f"BadRequestError. {shared.MALFORMED}",
    401: "Missing or unknown API key (UnauthorizedError).",
    403: "ForbiddenError.",
    422: "A bad or unknown query parameter (UnprocessableEntityError), named in `message` and `errors`.",
    429: f"TooManyRequests. {shared.THROTTLED}",
    500: "InternalServerError.",
    503: f"ServiceUnavailableError. {shared.UNAVAILABLE}",
})

HISTORY_ERRORS = _error_responses(HistoryErrorSerializer, {
    400: shared.MALFORMED,
    401: '`{"error": "Unauthorized"}`',
    403: '`{"error": "Forbidden"}`',
    404: '`{"error": "Product not found"}`: no variant has this id.',
    422: "A bad or unknown query parameter, named in `details`.",
    429: f'`{{"error": "Too many requests", "details": {{"retry_after": N}}}}`. {shared.THROTTLED}',
    500: '`{"error": "Internal server error"}`',
    503: f'`{{"error": "...", "details": {{"retry_after": N}}}}`. {shared.UNAVAILABLE}',
})
