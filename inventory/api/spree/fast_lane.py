"""The commonest Spree write answered without DRF's request cycle, in front of `StockMovementViewSet`.

A storefront's sale or receipt is a POST of a plain body: `{"stock_movement": {"stock_item_id": 5, "quantity":
-1, "action": "sold"}}`, JSON, an API key. DRF's cycle around it (the request wrapper, negotiation, parsers, the
body's serializer, the response's rendering) cost about as much as PostgreSQL's whole work on the movement
(bench/FINDINGS.md, round 11). Such a request is answered here when PostgreSQL appends the movement alone
(`services.sql_append`; on PostgreSQL only), with the viewset's own parts: the key authentication, its role
rule, its throttle, its serializer and renderer for the 201. Anything else goes to the viewset, which answers
as it always has: another body or header, a refusal, a movement the service must value. The lane writes
nothing it does not answer, and a request it hands on has had its throttle hit counted once.
"""

from __future__ import annotations

import functools
import json

from django.http import HttpRequest, HttpResponse
from rest_framework.renderers import JSONRenderer

from accounts.authentication import raw_key_from
from accounts.models import ApiKey
from accounts.permissions import RolePermission
from accounts.throttles import ApiKeyRateThrottle, count_once
from inventory.api.common.idempotency import IDEMPOTENCY_HEADER
from inventory.api.spree import serializers as s
from inventory.api.spree.viewsets.stock import StockMovementViewSet
from inventory.rawsql import on_postgresql
from inventory.services import sql_append
from inventory.services.rules import MovementRequest

FIELDS = frozenset({"stock_item_id", "quantity", "action"})
IDEMPOTENCY_META = "HTTP_" + IDEMPOTENCY_HEADER.upper().replace("-", "_")
ACCEPTED = {None, "*/*", JSONRenderer.media_type}
RENDERER = JSONRenderer()
# A plain body is under 150 bytes; a bigger one is read, and refused if need be, by the viewset's parsers.
MAX_BODY = 1024


def in_front_of(drf_view):
    """`drf_view` (the router's view of a location's movements), with plain movement POSTs answered first."""

    @functools.wraps(drf_view)  # keeps cls, initkwargs and actions, which the schema generator reads
    def view(request: HttpRequest, *args, **kwargs):
        answer = plain_movement_post(request, kwargs.get("location_id"))
        return answer if answer is not None else drf_view(request, *args, **kwargs)

    return view


def plain_movement_post(request: HttpRequest, location_id) -> HttpResponse | None:
    """The 201 of a plain movement POST, or None for the viewset to answer (nothing written)."""
    if (request.method != "POST" or not on_postgresql() or request.content_type != "application/json"
            or request.content_params.get("charset", "utf-8").lower() != "utf-8"
            or request.META.get("HTTP_ACCEPT") not in ACCEPTED or request.META.get("QUERY_STRING")
            or IDEMPOTENCY_META in request.META or not isinstance(location_id, int)
            or not request.META.get("CONTENT_LENGTH", "").isdigit() or int(request.META["CONTENT_LENGTH"]) > MAX_BODY):
        return None
    try:
        fields = _plain_body(request.body)
    except OSError as exc:  # a body shorter than its Content-Length (config/request_body.py)
        return _refusal(exc, request)
    raw_key = raw_key_from(request)
    if fields is None or raw_key is None or (key := ApiKey.for_request(raw_key)) is None:
        return None
    request.user, request.auth = key.user, key
    if not RolePermission().has_permission(request, StockMovementViewSet):
        return None
    if not ApiKeyRateThrottle().allow_request(request, StockMovementViewSet):
        return None  # a refused hit is not counted: the viewset counts it and answers 429
    count_once(request)
    try:
        movement = sql_append.append(MovementRequest(
            stock_item=fields["stock_item_id"], quantity=fields["quantity"], action=fields["action"],
            location=location_id), user=key.user)
    except Exception as exc:  # noqa: BLE001 - the database's refusal (a lock timeout is a 503)
        return _refusal(exc, request)
    if movement is None:
        return None
    return _response(s.SpreeStockMovementSerializer(movement).data, 201)


def _refusal(exc: Exception, request: HttpRequest) -> HttpResponse:
    """The viewset's answer to `exc`: its family's handler, the envelope and the headers it sets."""
    answer = StockMovementViewSet.error_handler(exc, {"request": request})
    response = _response(answer.data, answer.status_code)
    for header in ("Retry-After", "WWW-Authenticate"):
        if header in answer:
            response[header] = answer[header]
    return response


def _response(data, status: int) -> HttpResponse:
    response = HttpResponse(RENDERER.render(data), status=status, content_type=JSONRenderer.media_type)
    response["Allow"] = ALLOW
    response["Vary"] = "Accept"
    return response


def _plain_body(body: bytes) -> dict | None:
    """The fields of `{"stock_movement": {"stock_item_id": int, "quantity": int, "action": str}}` exactly,
    else None. What the body's serializer would take as given: whole numbers (no strings, no booleans) and
    the action spelled out; the service checks their ranges and signs."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # (UnicodeDecodeError and JSONDecodeError among them)
        return None
    if type(data) is not dict or len(data) != 1 or type(fields := data.get("stock_movement")) is not dict:
        return None
    if fields.keys() != FIELDS or type(fields["action"]) is not str:
        return None
    if type(fields["stock_item_id"]) is not int or type(fields["quantity"]) is not int:
        return None
    return fields


# What DRF's response to the viewset's POST carries (`APIView.default_response_headers`).
ALLOW = "GET, POST, HEAD, OPTIONS"
