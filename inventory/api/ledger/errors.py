"""The two envelopes of the ledger family.

The feed (`/inventory_movements`) answers errors as Katana does:
`{"statusCode": 422, "name": "UnprocessableEntityError", "message": "...", "errors": {"limit": ["..."]}}`
(`errors` only on 422; 429 also sends Retry-After).

The product history (`/movements/product/{id}`) answers as the FIFO inventory API it imitates:
`{"error": "Unauthorized"}`, and on 422 `{"error": "...", "details": {"param": ["..."]}}`.

Credentials, permissions, throttling and crashes get fixed messages in both, so nothing about the
failure (which key, which exception) leaks to the caller.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from rest_framework import exceptions

from inventory.api.common.errors import (
    BAD_CREDENTIALS,
    FORBIDDEN,
    INVALID,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    SERVER_ERROR,
    THROTTLED,
    ApiError,
    family_handler,
)

KATANA_NAMES = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "ForbiddenError",
    404: "NotFoundError",
    405: "MethodNotAllowedError",
    409: "ConflictError",
    415: "UnsupportedMediaTypeError",
    422: "UnprocessableEntityError",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}

KATANA_MESSAGES = {
    NOT_AUTHENTICATED: "Unauthorized",
    BAD_CREDENTIALS: "Unauthorized",
    FORBIDDEN: "Forbidden",
    NOT_FOUND: "Not Found",
    THROTTLED: "Too Many Requests",
    SERVER_ERROR: "Internal Server Error",
}


def render_katana(error: ApiError) -> dict:
    body = {
        "statusCode": error.status,
        "name": KATANA_NAMES.get(error.status, "Error"),
        "message": KATANA_MESSAGES.get(error.kind, error.message),
    }
    if error.kind == INVALID and error.errors:
        body["errors"] = error.errors
    return body


HISTORY_MESSAGES = {
    NOT_AUTHENTICATED: "Unauthorized",
    BAD_CREDENTIALS: "Unauthorized",
    FORBIDDEN: "Forbidden",
    # The only thing that can be missing on this route is the product (a variant).
    NOT_FOUND: "Product not found",
    THROTTLED: "Too many requests",
    SERVER_ERROR: "Internal server error",
}


def render_history(error: ApiError) -> dict:
    body: dict = {"error": HISTORY_MESSAGES.get(error.kind, error.message)}
    if error.kind == INVALID:
        body["details"] = dict(error.errors)
    elif error.retry_after is not None:
        body["details"] = {"retry_after": error.retry_after}
    return body


class MalformedRequest(exceptions.APIException):
    status_code = 400
    default_detail = "The request is malformed (too many parameters?)."
    default_code = "bad_request"


def handler_for(render: Callable[[ApiError], dict]) -> Callable:
    """The family handler, also answering Django's SuspiciousOperation (e.g. more query parameters than
    DATA_UPLOAD_MAX_NUMBER_FIELDS, raised while DRF reads them) with a 400 rather than a 500."""
    handle = family_handler(render)

    def handler(exc, context):
        if isinstance(exc, SuspiciousOperation):
            exc = MalformedRequest()
        return handle(exc, context)

    return handler


katana_handler = handler_for(render_katana)
history_handler = handler_for(render_history)
