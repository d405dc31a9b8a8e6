"""No NUL character reaches a page outside the APIs: PostgreSQL cannot compare text with one, so an admin
filter like `?resource_type=a%00b` was a 500. Such an address is a 400 here; under /api/ each family
refuses it in its own envelope (inventory/api/common/text.py)."""

from __future__ import annotations

from django.http import HttpResponseBadRequest

API_PREFIX = "/api/"


def has_nul(request) -> bool:
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path_info or "%00" in query or "\x00" in query


class RefuseNulMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIX) and has_nul(request):
            return HttpResponseBadRequest("NUL characters are not allowed in the address.",
                                          content_type="text/plain; charset=utf-8")
        return self.get_response(request)
