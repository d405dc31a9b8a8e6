"""Every route under /api/ in the URLconf, found by walking django.urls.get_resolver() (includes and all),
so tests that must cover every route cannot miss one that is added later."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern

# How the catch-all patterns (a JSON 404 for unknown paths) spell "anything".
WILDCARDS = ("[\\s\\S]*", ".*")


@dataclass(frozen=True)
class Route:
    regex: str  # the full path as a regex (no leading slash), `<int:x>` turned into `(?P<x>[^/]+)`
    pattern: URLPattern
    # The HTTP methods the view serves (lower case), or None for a plain Django view function.
    methods: frozenset[str] | None

    @property
    def view_class(self) -> type | None:
        """The class-based view serving the route (None for a plain Django view function)."""
        return getattr(self.pattern.callback, "view_class", None) or getattr(self.pattern.callback, "cls", None)

    @property
    def catch_all(self) -> bool:
        """A pattern that answers paths no other route serves (a JSON 404)."""
        return any(wildcard in self.regex for wildcard in WILDCARDS)

    @property
    def template(self) -> str:
        """The path as an OpenAPI template: `/api/v1/stock_locations/{location_id}`."""
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", self.regex).replace("/?", "")
        return "/" + path

    def fill(self, values: dict[str, str]) -> str:
        """A concrete path: named groups get `values`, optional slashes are dropped, and a catch-all
        becomes a path no other route serves. Checked to resolve back to this very route."""
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], self.regex)
        path = "/" + path.replace("/?", "")
        for wildcard in WILDCARDS:
            path = path.replace(wildcard, "no-such-route")
        assert not re.search(r"[()\[\]*+?\\^$]", path), f"could not fill {self.regex!r}"
        assert resolve(path).func is self.pattern.callback, f"{path} does not resolve to {self.regex!r}"
        return path


def _walk(patterns, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + _regex(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + _regex(entry.pattern), entry


def _regex(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        # `<int:location_id>` -> a named group, so both kinds of pattern are handled the same way.
        return re.sub(r"<(?:\w+:)?(\w+)>", r"(?P<\1>[^/]+)", str(pattern))
    assert isinstance(pattern, RegexPattern), pattern
    return pattern.regex.pattern.removeprefix("^").removesuffix("$").removeprefix("\\A").removesuffix("\\Z")


def api_routes() -> list[Route]:
    routes = []
    for regex, pattern in _walk(get_resolver().url_patterns):
        if not regex.startswith("api/"):
            continue
        route = Route(regex, pattern, None)
        view_class = route.view_class
        actions = getattr(pattern.callback, "actions", None)  # a viewset route: its method -> action map
        if actions is not None:
            route = Route(regex, pattern, frozenset(actions) | {"head", "options"} & set(view_class.http_method_names))
        elif view_class is not None:
            methods = frozenset(m for m in view_class.http_method_names if hasattr(view_class, m))
            route = Route(regex, pattern, methods)
        routes.append(route)
    return routes
