"""Ransack-style search and sort: `q[ATTR_PRED]=value` and `q[s]=attr dir` -> Q objects and order_by.

Each endpoint declares a `Searchable`: the attributes of its model a client may filter and sort on,
and the associations it may walk (`stock_item_variant_sku_eq` walks stock_item -> variant -> sku).
Only names in that allowlist ever reach the ORM, and they reach it as lookups we wrote ourselves
(`stock_item__variant__sku`), never as text from the request: a client cannot reach `created_by` or
spell Django's `__` traversal. Anything not understood is an error naming the parameter (a
`SearchError`, which the API renders as 422), never a 500 and never silently ignored.

Like ransack, a condition whose value is empty (`q[sku_cont]=`) is skipped: search forms send empty
fields. Its name is still checked.

This module parses a query string into a `Search`; the parts it stands on live beside it by purpose:
`values` (attribute kinds, a raw value cast to one), `allowlist` (`Field`, `Relation`, `Searchable`) and
`predicates` (which predicate applies to which kind, a name split into attribute and predicate, the Q of
one condition). `backends` exposes it all as a DRF filter backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from inventory.search.allowlist import Attribute, Field, Relation, Searchable, model_fields
from inventory.search.predicates import PREDICATES, resolve_name, to_q
from inventory.search.values import (
    BOOL,
    CHOICE,
    DATE,
    DATETIME,
    DECIMAL,
    INT,
    MAX_INT,
    STR,
    cast,
    cast_bool,
)

# The vocabulary of an allowlist and of the parser, importable from here (the package's front door).
__all__ = [
    "BOOL", "CHOICE", "DATE", "DATETIME", "DECIMAL", "INT", "MAX_INT", "PREDICATES", "STR", "Attribute",
    "Field", "Relation", "Search", "SearchError", "Searchable", "cast", "cast_bool", "model_fields", "parse",
    "resolve_name",
]

SORT_KEYS = ("s", "sorts")
_PARAM_RE = re.compile(r"^q\[([^\[\]]+)\](\[\])?$")
_SORT_RE = re.compile(r"^([a-z][a-z0-9_]*)(?:\s+(asc|desc))?$", re.IGNORECASE)


class SearchError(ValueError):
    """One or more bad `q` parameters: `errors` maps each parameter, as the client spelled it, to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class Search:
    conditions: list[Q]
    order_by: list[str]
    distinct: bool = False
    # What each condition tests, as (attribute name, predicate, parsed value or list of values), for callers
    # that can answer some searches without the ORM (an exact count from counters, say).
    terms: list[tuple[str, str, object]] = field(default_factory=list)

    def apply(self, queryset: QuerySet) -> QuerySet:
        for condition in self.conditions:
            queryset = queryset.filter(condition)
        if self.distinct:
            queryset = queryset.distinct()
        return queryset.order_by(*self.order_by)


def parse(params, searchable: Searchable) -> Search:
    """Parse the `q[...]` entries of a query string (a Django QueryDict, or a mapping of name -> list of
    values) against `searchable`. Other parameters are left alone. Raises SearchError."""
    attributes = searchable.attributes()
    errors: dict[str, list[str]] = {}
    conditions: list[Q] = []
    terms: list[tuple[str, str, object]] = []
    sorts: list[tuple[str, str]] = []  # (param, text)
    distinct = False

    for param, values in _items(params):
        if param != "q" and not param.startswith("q["):
            continue
        match = _PARAM_RE.match(param)
        if match is None:
            errors.setdefault(param, []).append("Search parameters are written q[ATTRIBUTE_PREDICATE]=value.")
            continue
        name, as_list = match.group(1), bool(match.group(2))
        if name in SORT_KEYS:
            sorts.extend((param, value) for value in values)
            continue
        try:
            resolved = resolve_name(name, attributes)
            parsed = to_q(resolved, values, as_list)
        except ValueError as exc:
            errors.setdefault(param, []).append(str(exc))
            continue
        if parsed is not None:
            condition, value = parsed
            conditions.append(condition)
            terms.append((resolved[0].name, resolved[1], value))
            distinct = distinct or resolved[0].many

    order_by: list[str] = []
    for param, text in sorts:
        try:
            order_by.extend(_sort_terms(text, attributes))
        except ValueError as exc:
            errors.setdefault(param, []).append(str(exc))

    if errors:
        raise SearchError(errors)
    if not order_by:
        order_by = list(searchable.default_order)
    elif not any(term.lstrip("-") in ("id", "pk") for term in order_by):
        # Ties broken newest first, so that pages never overlap or skip rows.
        order_by.append("-id")
    return Search(conditions, order_by, distinct, terms)


def _items(params) -> Iterable[tuple[str, list[str]]]:
    if hasattr(params, "lists"):
        return list(params.lists())
    return [(k, v if isinstance(v, list) else [v]) for k, v in params.items()]


def _sort_terms(text: str, attributes: Mapping[str, Attribute]) -> list[str]:
    terms = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        match = _SORT_RE.match(part)
        if match is None:
            raise ValueError(f"'{part}' is not a sort: write 'attribute asc' or 'attribute desc'.")
        name, direction = match.group(1), (match.group(2) or "asc").lower()
        attribute = attributes.get(name)
        if attribute is None or not attribute.sortable:
            raise ValueError(f"'{name}' is not a sortable attribute here.")
        terms.append(("-" if direction == "desc" else "") + attribute.lookup)
    return terms
