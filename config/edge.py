"""Errors answered before any API view runs, in the envelope of the family the path belongs to.

Two places answer them: Django's `handler400` and `handler500` (a disallowed Host, a request Django
refuses to parse before a view is reached, a crash in a middleware) and the front of `make serve` (nginx:
a URI or headers too large, a body over its limit, a malformed request, no app server), whose JSON bodies
`config/serve.py` renders from `edge_body()`, so both speak exactly as the families' own handlers do.
"""

from __future__ import annotations

import json
import re

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import bad_request, server_error

from inventory.api.common.errors import BAD_REQUEST, SERVER_ERROR, UNAVAILABLE, ApiError

# The families by path, first match wins (the same order as config/urls.py). nginx's map uses these too.
FAMILIES: list[tuple[str, str]] = [
    ("katana", r"^/api/v1/inventory_movements(/|\?|\s|$)"),
    ("history", r"^/api/v1/movements/product/"),
    ("warehouse", r"^/api/v1/inventory(/|\?|\s|$)"),
    ("spree", r"^/api/"),
]

# Statuses the edge answers, with the message and the Katana error name of each.
EDGE_ERRORS: dict[int, tuple[str, str]] = {
    400: ("The request is malformed.", "BadRequestError"),
    413: ("The request body is too large.", "PayloadTooLargeError"),
    414: ("The request URI is too long.", "URITooLongError"),
    431: ("The request headers are too large.", "RequestHeaderFieldsTooLargeError"),
    500: ("Internal server error.", "InternalServerError"),
    502: ("The application server is unavailable; try again shortly.", "BadGatewayError"),
    503: ("The service is unavailable; try again shortly.", "ServiceUnavailableError"),
    504: ("The application server did not answer in time; try again shortly.", "GatewayTimeoutError"),
}


def family_of(path: str) -> str | None:
    for family, pattern in FAMILIES:
        if re.match(pattern, path):
            return family
    return None


class EdgeError(ApiError):
    """An ApiError with any HTTP status (the families' kinds map only the statuses views answer)."""

    def __init__(self, status: int, message: str) -> None:
        kind = BAD_REQUEST if status < 500 else UNAVAILABLE if status in (502, 503, 504) else SERVER_ERROR
        super().__init__(kind, message)
        self._status = status

    @property
    def status(self) -> int:
        return self._status


def edge_body(family: str, status: int, message: str | None = None) -> dict:
    """The body `family` answers `status` with."""
    from inventory.api.ledger import errors as ledger
    from inventory.api.spree import errors as spree
    from inventory.api.warehouse import errors as warehouse

    default, katana_name = EDGE_ERRORS.get(status, ("The request failed.", "Error"))
    error = EdgeError(status, message or default)
    if family == "katana":
        # Katana's fixed wording for server errors would hide what happened at the edge: say it.
        return {"statusCode": status, "name": katana_name, "message": error.message}
    if family == "history":
        return ledger.render_history(error)
    if family == "warehouse":
        return warehouse.render(error)
    return spree.render(error)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 (a disallowed Host header, a query it refuses to parse outside a view): the family's JSON
    under /api/, Django's own page elsewhere."""
    family = family_of(request.path)
    if family is None:
        return bad_request(request, exception)
    message = "The request is malformed."
    if type(exception).__name__ == "DisallowedHost":
        message = "The Host header names a host this server does not serve."
    return JsonResponse(edge_body(family, 400, message), status=400)


def handler500(request: HttpRequest) -> HttpResponse:
    """A crash outside any API view's own handler (a middleware, the URLconf): the family's JSON under /api/."""
    family = family_of(request.path)
    if family is None:
        return server_error(request)
    return JsonResponse(edge_body(family, 500), status=500)


def nginx_string(body: dict) -> str:
    """A JSON body as an nginx single-quoted string (JSON never needs a single quote or a `$` here)."""
    text = json.dumps(body, separators=(",", ":"))
    assert "'" not in text and "$" not in text and "\\" not in text, text
    return f"'{text}'"
