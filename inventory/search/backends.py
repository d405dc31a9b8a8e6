"""Ransack search as a DRF filter backend: a viewset names its allowlist in `ransack` (a `Searchable`) and
an example for the docs in `ransack_example`; a new searchable field is one line in that allowlist.

The parsed search is left on the view (`view.search`) for views that can answer some searches without a
COUNT (the movement counters)."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend

from inventory.search.ransack import PREDICATES, Searchable, SearchError, parse


class RansackFilter(BaseFilterBackend):
    def filter_queryset(self, request, queryset, view):
        searchable: Searchable | None = getattr(view, "ransack", None)
        if searchable is None:
            return queryset
        try:
            view.search = parse(request.query_params, searchable)
        except SearchError as exc:
            raise ValidationError(exc.errors) from None
        return view.search.apply(queryset)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        searchable: Searchable | None = getattr(view, "ransack", None)
        if searchable is None:
            return []
        attributes = searchable.attributes().values()
        sortable = ", ".join(a.name for a in attributes if a.sortable)
        return [{
            "name": "q",
            "required": False,
            "in": "query",
            "description": (
                "Ransack search and sort: `q[ATTRIBUTE_PREDICATE]=value`, e.g. " + view.ransack_example + ". "
                "Predicates: " + " ".join(PREDICATES) + "; `in` takes repeated `q[x_in][]=` or a comma list. "
                "Sort with `q[s]=attribute asc|desc` (several comma-separated or repeated `q[s][]=`). Unknown "
                "attributes, predicates, sorts and bad values are a 422 naming the parameter. Attributes: "
                + ", ".join(a.name for a in attributes) + ". Sortable: " + sortable + "."
            ),
            "schema": {"type": "object", "additionalProperties": {}},
            "style": "deepObject",
            "explode": True,
        }]
