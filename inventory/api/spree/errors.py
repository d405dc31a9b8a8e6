"""Spree's error envelopes: `{"error": "..."}`, plus `"errors": {field: [...]}` on 422."""

from __future__ import annotations

from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt

from inventory.api.common import errors as common

NO_KEY = "You must specify an API key."
UNAUTHORIZED = "You are not authorized to perform that action."
NOT_FOUND = "The resource you were looking for could not be found."
INVALID = "Invalid resource. Please fix errors and try again."


def render(error: common.ApiError) -> dict:
    if error.kind == common.NOT_AUTHENTICATED:
        return {"error": NO_KEY}
    if error.kind in (common.BAD_CREDENTIALS, common.FORBIDDEN):
        return {"error": UNAUTHORIZED}
    if error.kind == common.NOT_FOUND:
        return {"error": NOT_FOUND}
    if error.kind == common.INVALID:
        return {"error": INVALID, "errors": error.errors or {"base": [error.message]}}
    if error.kind == common.THROTTLED:
        return {"error": f"Too many requests. Try again in {error.retry_after} seconds.",
                "retry_after": error.retry_after}
    return {"error": error.message}


spree_exception_handler = common.family_handler(render)


@csrf_exempt  # a POST to a path that does not exist is a 404, not a CSRF failure page
def not_found(request, *args, **kwargs):
    """Any path under /api/ that no route matches: Spree's 404 in JSON, never Django's HTML page.

    This catch-all would hide CommonMiddleware's APPEND_SLASH redirect (`/api/docs` -> `/api/docs/`),
    so it does that redirect itself for reads when the slashed path is a real page.
    """
    if request.method in ("GET", "HEAD") and not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(request.path + "/" + (f"?{query}" if query else ""))
    return JsonResponse({"error": NOT_FOUND}, status=404)
