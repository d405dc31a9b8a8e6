"""Plumbing shared by the API families: one view of what went wrong (each family renders it in its own
envelope), per-key throttling, idempotent creates, and strict integer query parameters."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ObjectDoesNotExist, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError, InterfaceError, NotSupportedError, OperationalError, transaction
from django.http import Http404, UnreadablePostError
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from accounts.authentication import InvalidApiKey
from config.postgresql.base import is_stale_plan
from inventory.models import IdempotencyRecord
from inventory.services.errors import StockError

logger = logging.getLogger("stockroom.api")

# Kinds of failure every family knows how to render.
NOT_AUTHENTICATED = "not_authenticated"  # no credentials: 401
BAD_CREDENTIALS = "bad_credentials"  # a key that matches nothing: 401
FORBIDDEN = "forbidden"  # 403
NOT_FOUND = "not_found"  # 404
METHOD_NOT_ALLOWED = "method_not_allowed"  # 405
BAD_REQUEST = "bad_request"  # unparseable body: 400
INVALID = "invalid"  # validation or domain refusal: 422
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
    THROTTLED: 429,
    SERVER_ERROR: 500,
    UNAVAILABLE: 503,
}

# Seconds a client is told to wait (Retry-After) before retrying a request the database could not finish.
UNAVAILABLE_RETRY_AFTER = 1


class InvalidParameter(exceptions.APIException):
    """A query parameter or body field that is wrong: rendered as 422 naming `field`."""

    status_code = 422
    default_code = "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__({field: [message]})
        self.field = field
        self.message = message


@dataclass
class ApiError:
    kind: str
    message: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    retry_after: int | None = None

    @property
    def status(self) -> int:
        return STATUS[self.kind]


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF error detail (nested dicts/lists) -> {"field.sub": ["message", ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            out[prefix or "base"] = [str(v) for v in detail]
        else:
            for index, value in enumerate(detail):
                name = f"{prefix}[{index}]" if prefix else f"[{index}]"
                for k, v in _flatten(value, name).items():
                    out.setdefault(k, []).extend(v)
    else:
        out[prefix or "base"] = [str(detail)]
    return out


def classify(exc: Exception) -> ApiError:
    """Map any exception raised below a view to an ApiError. Never raises."""
    if isinstance(exc, StockError):
        return ApiError(INVALID, exc.message, exc.as_errors())
    if isinstance(exc, InvalidParameter):
        return ApiError(INVALID, exc.message, {exc.field: [exc.message]})
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
        errors = _flatten(exc.detail)
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


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Per API key (or per session user, or per address for anonymous callers)."""

    scope = "api_key"

    def get_cache_key(self, request, view) -> str:
        auth = getattr(request, "auth", None)
        if auth is not None and getattr(auth, "pk", None) is not None:
            ident = f"key:{auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


# --- idempotent creates ---------------------------------------------------------------------------

IDEMPOTENCY_TTL = timedelta(hours=24)
IDEMPOTENCY_HEADER = "Idempotency-Key"


class IdempotencyConflict(StockError):
    field = "idempotency_key"
    code = "idempotency_conflict"


def _request_fingerprint(route: str, data) -> str:
    body = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(f"{route}\n{body}".encode()).hexdigest()


def idempotent(request, route: str, create: Callable[[], Response]) -> Response:
    """Run `create` once per (user, Idempotency-Key): a repeat with the same body gets the stored answer;
    the same key with another body or route is refused. Without the header, just runs `create`.

    `create` and the record commit together, so a crash never leaves one without the other; two
    concurrent requests with one key resolve on the unique constraint and both get the first answer.
    """
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return create()
    key = key.strip()
    if not key or len(key) > 255:
        raise IdempotencyConflict("Idempotency-Key must be 1 to 255 characters.")
    fingerprint = _request_fingerprint(route, request.data)
    user = request.user
    IdempotencyRecord.objects.filter(user=user, key=key, created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()

    def replay(record: IdempotencyRecord) -> Response:
        if record.request_hash != fingerprint:
            raise IdempotencyConflict("This Idempotency-Key was already used with a different request.")
        response = Response(record.response_body, status=record.response_status)
        response["Idempotent-Replayed"] = "true"
        return response

    if (record := IdempotencyRecord.objects.filter(user=user, key=key).first()) is not None:
        return replay(record)
    try:
        with transaction.atomic():
            response = create()
            if 200 <= response.status_code < 300:
                IdempotencyRecord.objects.create(user=user, key=key, route=route, request_hash=fingerprint,
                                                 response_status=response.status_code,
                                                 response_body=json.loads(json.dumps(response.data, default=str)))
            return response
    except IntegrityError:
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is None:
            raise
        return replay(record)


# --- query parameters -----------------------------------------------------------------------------


def int_param(
    request,
    name: str,
    *,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    clamp: bool = False,
) -> int | None:
    """A whole-number query parameter. Bad text or out of range: InvalidParameter naming it, unless
    `clamp`, which caps at `maximum` (values below `minimum` are always refused)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise InvalidParameter(name, f"'{raw}' is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise InvalidParameter(name, f"must be at least {minimum}.")
    if maximum is not None and value > maximum:
        if clamp:
            return maximum
        raise InvalidParameter(name, f"must be at most {maximum}.")
    return value
