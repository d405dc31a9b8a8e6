"""One view of what went wrong below any API view: `classify` turns an exception into an `ApiError`, which
each family renders in its own envelope (`family_handler`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, NotSupportedError, OperationalError, transaction
from django.http import Http404, UnreadablePostError
from rest_framework import exceptions
from rest_framework.response import Response

from accounts.authentication import InvalidApiKey
from config.postgresql.base import is_stale_plan
from inventory.services.errors import Conflict, StockError

logger = logging.getLogger("stockroom.api")

# Kinds of failure every family knows how to render.
NOT_AUTHENTICATED = "not_authenticated"  # no credentials: 401
BAD_CREDENTIALS = "bad_credentials"  # a key that matches nothing: 401
FORBIDDEN = "forbidden"  # 403
NOT_FOUND = "not_found"  # 404
METHOD_NOT_ALLOWED = "method_not_allowed"  # 405
BAD_REQUEST = "bad_request"  # unparseable body: 400
INVALID = "invalid"  # validation or domain refusal: 422
CONFLICT = "conflict"  # the same thing is being changed by another request right now: 409 + Retry-After
UNSUPPORTED_MEDIA = "unsupported_media"  # 415
THROTTLED = "throttled"  # 429
SERVER_ERROR = "server_error"  # 500
UNAVAILABLE = "unavailable"  # the database could not finish (lock or statement timeout, killed session): 503

STATUS = {
    NOT_AUTHENTICATED: 401,
    BAD_CREDENTIALS: 401,
    FORBIDDEN: 403,
    NOT_FOUND: 404,
    METHOD_NOT_ALLOWED: 405,
    BAD_REQUEST: 400,
    UNSUPPORTED_MEDIA: 415,
    INVALID: 422,
    CONFLICT: 409,
    THROTTLED: 429,
    SERVER_ERROR: 500,
    UNAVAILABLE: 503,
}

# Seconds a client is told to wait (Retry-After) before retrying a request the database could not finish.
UNAVAILABLE_RETRY_AFTER = 1


class BadQuery(exceptions.APIException):
    """Request parameters (or body fields) that are wrong: 422, every one's messages in `errors`, so that a
    client learns all its mistakes at once. Families word the summary `message` their own way
    (`summarize`)."""

    status_code = 422
    default_code = "invalid"

    def __init__(self, errors: dict[str, list[str]], message: str | None = None) -> None:
        super().__init__(errors)
        self.errors = errors
        self.message = message if message is not None else self.summarize(errors)

    @staticmethod
    def summarize(errors: dict[str, list[str]]) -> str:
        return next(iter(errors.values()))[0]


class InvalidParameter(BadQuery):
    """One query parameter or body field that is wrong: rendered as 422 naming `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__({field: [message]}, message=message)
        self.field = field


@dataclass
class ApiError:
    kind: str
    message: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    retry_after: int | None = None

    @property
    def status(self) -> int:
        return STATUS[self.kind]


def flatten(detail, prefix: str = "", *, root: str = "base") -> dict[str, list[str]]:
    """DRF error detail (nested dicts/lists) -> {"field.sub": [...], "rows[1].field": [...]}; messages about
    the whole body go under `root` (Spree says "base", the warehouse family "body")."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in flatten(value, name, root=root).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list) and any(isinstance(v, dict | list) for v in detail):
        for index, value in enumerate(detail):
            for k, v in flatten(value, f"{prefix}[{index}]", root=root).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        out[prefix or root] = [str(v) for v in detail]
    else:
        out[prefix or root] = [str(detail)]
    return out


def classify(exc: Exception) -> ApiError:
    """Map any exception raised below a view to an ApiError. Never raises."""
    if isinstance(exc, Conflict):
        return ApiError(CONFLICT, exc.message, exc.as_errors(), retry_after=exc.retry_after)
    if isinstance(exc, StockError):
        return ApiError(INVALID, exc.message, exc.as_errors())
    if isinstance(exc, BadQuery):
        return ApiError(INVALID, exc.message, exc.errors)
    if isinstance(exc, Http404 | ObjectDoesNotExist | exceptions.NotFound):
        return ApiError(NOT_FOUND, "Not found.")
    if isinstance(exc, InvalidApiKey):
        return ApiError(BAD_CREDENTIALS, "Invalid API key.")
    if isinstance(exc, exceptions.NotAuthenticated):
        return ApiError(NOT_AUTHENTICATED, "Authentication credentials were not provided.")
    if isinstance(exc, exceptions.AuthenticationFailed):
        return ApiError(BAD_CREDENTIALS, str(exc.detail))
    if isinstance(exc, exceptions.PermissionDenied | DjangoPermissionDenied):
        return ApiError(FORBIDDEN, "You are not authorized to perform that action.")
    if isinstance(exc, exceptions.Throttled):
        return ApiError(THROTTLED, "Too many requests.", retry_after=int(exc.wait or 1))
    if isinstance(exc, exceptions.MethodNotAllowed):
        return ApiError(METHOD_NOT_ALLOWED, str(exc.detail))
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return ApiError(UNSUPPORTED_MEDIA, str(exc.detail))
    if isinstance(exc, exceptions.ParseError):
        return ApiError(BAD_REQUEST, "The request body is not valid JSON.")
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten(exc.detail)
        first = next(iter(errors.values()), ["Invalid input."])[0]
        return ApiError(INVALID, first, errors)
    if isinstance(exc, exceptions.APIException):
        kind = {400: BAD_REQUEST, 404: NOT_FOUND, 405: METHOD_NOT_ALLOWED, 415: UNSUPPORTED_MEDIA}.get(
            exc.status_code, INVALID if 400 <= exc.status_code < 500 else SERVER_ERROR
        )
        return ApiError(kind, str(exc.detail))
    if isinstance(exc, SuspiciousOperation):
        # Django refuses to parse the request: more query or form fields than DATA_UPLOAD_MAX_NUMBER_FIELDS,
        # a body over DATA_UPLOAD_MAX_MEMORY_SIZE. The client's doing, so a 400 (Django's own answer too).
        return ApiError(BAD_REQUEST, "The request is malformed or too large (too many parameters?).")
    if isinstance(exc, UnreadablePostError):
        # The body ended before its Content-Length (config/request_body.py): never act on part of it.
        return ApiError(BAD_REQUEST, "The request body ended before the length it announced.")
    if isinstance(exc, OperationalError | InterfaceError) or (
            isinstance(exc, NotSupportedError) and is_stale_plan(exc.__cause__)):
        # A lock or statement timeout, a deadlock, a terminated session, a lost connection, a prepared
        # statement made stale by a migration (config/postgresql): the transaction was rolled back whole,
        # so the same request may simply be sent again.
        logger.warning("database unavailable in API view: %s", exc)
        return ApiError(UNAVAILABLE, "The database could not complete the request; try again shortly.",
                        retry_after=UNAVAILABLE_RETRY_AFTER)
    logger.exception("unhandled error in API view", exc_info=exc)
    return ApiError(SERVER_ERROR, "Internal server error.")


def family_handler(render: Callable[[ApiError], dict]) -> Callable:
    """Build a DRF exception handler from a family's `render(ApiError) -> body dict`."""

    def handler(exc, context):
        error = classify(exc)
        if error.kind in (SERVER_ERROR, UNAVAILABLE):
            # Nothing half-done may be committed when we answer 500.
            transaction.set_rollback(True) if transaction.get_connection().in_atomic_block else None
        response = Response(render(error), status=error.status)
        if error.retry_after is not None:
            response["Retry-After"] = str(error.retry_after)
        if error.kind in (NOT_AUTHENTICATED, BAD_CREDENTIALS):
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    return handler


class FamilyErrorsMixin:
    """Views of one family answer every error in that family's envelope (`error_handler`)."""

    error_handler: Callable | None = None

    def get_exception_handler(self):
        return type(self).error_handler
