"""OpenAPI descriptions for the Spree views: wrapped bodies, index envelopes and Spree's error bodies.

config/urls.py mounts the Spree routes twice, under /api/v1/ and under /api/, and both serve the same views:
each operation is documented once, under /api/v1/ (the contract's spelling)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from inventory.api.common import schema as shared
from inventory.api.spree import serializers as s

DOCUMENTED_MOUNT = "/api/v1/"


class SpreeAutoSchema(shared.FamilyAutoSchema):
    """Leaves the /api/ alias mount out. Index and show share a method (GET) and a path prefix: name the index
    operations `..._list`."""

    def is_excluded(self) -> bool:
        return super().is_excluded() or not self.path.startswith(DOCUMENTED_MOUNT)

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        if self.method == "GET" and not self.path.rstrip("/").endswith("}") and operation_id.endswith("_retrieve"):
            operation_id = operation_id.removesuffix("_retrieve") + "_list"
        return operation_id


PAGE = OpenApiParameter("page", int, description="Page number, from 1 (default 1). Past the last page: empty.")
PER_PAGE = OpenApiParameter("per_page", int, description="Items per page (default 25; above 100 is served as 100).")
SHOW_DELETED = OpenApiParameter("show_deleted", bool, description="Include soft-deleted records.")
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Repeating a request with the same key and body returns the first answer and writes nothing; "
                "the same key with another body is a 422. Keys are kept per user for 24 hours (by default). A "
                "repeat sent while the first still runs waits for its answer, or gets 409 with Retry-After.",
)


def _errors(*codes: int) -> dict:
    """The operation's own error statuses, and those any request may get (400, 429, 503)."""
    out = {}
    for code in codes:
        if code == 422:
            out[code] = OpenApiResponse(s.SpreeInvalidSerializer, description="Invalid resource or parameter.")
        else:
            out[code] = OpenApiResponse(s.SpreeErrorSerializer)
    out[400] = OpenApiResponse(s.SpreeErrorSerializer, description=shared.MALFORMED)
    out[429] = OpenApiResponse(s.SpreeThrottledSerializer, description=shared.THROTTLED)
    out[503] = OpenApiResponse(s.SpreeErrorSerializer, description=shared.UNAVAILABLE)
    return out


def index(tag: str, envelope, *extra_params: OpenApiParameter):
    # The q[...] parameter is documented by the search backend, from the view's allowlist.
    return extend_schema(
        tags=[tag], parameters=[PAGE, PER_PAGE, *extra_params],
        responses={200: envelope, **_errors(401, 403, 404, 422)},
    )


def show(tag: str, item, *extra_params: OpenApiParameter):
    # A query parameter (show_deleted) can be malformed, which is a 422.
    codes = (401, 403, 404, 422) if extra_params else (401, 403, 404)
    return extend_schema(tags=[tag], parameters=list(extra_params), responses={200: item, **_errors(*codes)})


def create(tag: str, body, item, *extra_params: OpenApiParameter):
    return extend_schema(tags=[tag], request=body, parameters=list(extra_params),
                         responses={201: item, **_errors(401, 403, 404, 422)})


def update(tag: str, body, item, *extra_params: OpenApiParameter):
    return extend_schema(tags=[tag], request=body, parameters=list(extra_params),
                         responses={200: item, **_errors(401, 403, 404, 422)})


def destroy(tag: str):
    return extend_schema(tags=[tag], request=None,
                         responses={204: OpenApiResponse(description="Deleted; no body."),
                                    **_errors(401, 403, 404, 422)})


def unnested_index(tag: str, envelope, required_message: str):
    location = OpenApiParameter("stock_location_id", int, description=(
        f"The stock location whose items to list. Without it the answer is 422, `{required_message}`."))
    return extend_schema(
        tags=[tag], parameters=[location, PAGE, PER_PAGE],
        responses={200: envelope, **_errors(401, 403, 404, 422)},
    )
