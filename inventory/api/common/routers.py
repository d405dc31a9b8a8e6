"""Routers for the families' viewsets: Spree's exact paths, with or without a trailing slash.

Clients send paths without a trailing slash; both spellings are served by the same viewset (never a
redirect, which a client would follow with a GET), and only the slash-less one is in the OpenAPI schema.
Lookups are Django path converters (`<int:location_id>`), so the schema types path parameters as before.
A nested route names its parent as the parent's own detail route does (`stock_locations/<int:location_id>/
stock_items`), not drf-nested-routers' default `<lookup>_<kwarg>`.
"""

from __future__ import annotations

from django.urls import URLPattern, path
from rest_framework.routers import SimpleRouter
from rest_framework_nested.routers import NestedSimpleRouter


def with_slash_aliases(patterns: list[URLPattern]) -> list:
    out = []
    for pattern in patterns:
        callback = pattern.callback
        alias = callback.cls.as_view(callback.actions, **{**callback.initkwargs, "schema": None})
        out += [pattern, path(f"{pattern.pattern}/", alias, name=f"{pattern.name}-slash")]
    return out


class _SlashOptional:
    def get_lookup_regex(self, viewset, lookup_prefix: str = "") -> str:
        return super().get_lookup_regex(viewset)  # the parent's own kwarg, e.g. location_id

    def get_urls(self) -> list:
        return with_slash_aliases(super().get_urls())


class Router(_SlashOptional, SimpleRouter):
    def __init__(self) -> None:
        super().__init__(trailing_slash=False, use_regex_path=False)


class NestedRouter(_SlashOptional, NestedSimpleRouter):
    def __init__(self, parent: Router, prefix: str) -> None:
        super().__init__(parent, prefix, lookup="parent", trailing_slash=False, use_regex_path=False)
