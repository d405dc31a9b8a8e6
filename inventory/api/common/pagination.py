"""How each family pages a list, as DRF pagination classes. Their page-size and page parameters are read
strictly: a bad one is a 422 naming it (`query_errors` lets the strict filter backend report it together
with the filters' errors)."""

from __future__ import annotations

import json
import math

from django.db.models import QuerySet, Subquery
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from inventory.api.common.errors import BadQuery
from inventory.api.common.text import ascii_int


class PageParams(BasePagination):
    """`page` (from 1) and a page-size parameter: defaults, bounds, and what a bad value is called."""

    size_param = "limit"
    default_size = 50
    max_size = 100
    max_page = 1_000_000
    # A size above the maximum is served as the maximum (the answer says so); a page past `max_page` is a 422.
    single_values = False  # True: a parameter given twice is an error (rather than the last one winning)
    size_first = False  # the order in which bad values are reported

    @property
    def query_params(self) -> tuple[str, str]:
        return (self.size_param, "page")

    def read(self, request) -> tuple[dict[str, int], dict[str, list[str]]]:
        values, errors = {}, {}
        params = [("page", 1, self.max_page, False), (self.size_param, self.default_size, self.max_size, True)]
        for name, default, maximum, clamp in reversed(params) if self.size_first else params:
            values[name], problem = self._whole(request.query_params, name, default, maximum, clamp)
            if problem:
                errors[name] = [problem]
        return values, errors

    def query_errors(self, request) -> dict[str, list[str]]:
        return self.read(request)[1]

    def _whole(self, params, name: str, default: int, maximum: int, clamp: bool) -> tuple[int, str | None]:
        values = params.getlist(name)
        if self.single_values and len(values) > 1:
            return default, "was given more than once."
        raw = values[-1].strip() if values else ""
        if not raw:
            return default, None
        try:
            value = ascii_int(raw)
        except ValueError:
            return default, f"'{raw}' is not a whole number."
        if value < 1:
            return default, "must be at least 1."
        if value > maximum:
            return (maximum, None) if clamp else (default, f"must be at most {maximum}.")
        return value, None

    def page_and_size(self, request) -> tuple[int, int]:
        values, errors = self.read(request)
        if errors:
            raise BadQuery(errors)
        return values["page"], values[self.size_param]


# --- Spree (Kaminari) ------------------------------------------------------------------------------


class SpreePagination(PageParams):
    """`page` and `per_page` in; `count`/`total_count`/`current_page`/`pages`/`per_page` out, under the
    view's `envelope_key`. Two queries: the total and the rows.

    The view may give `page_rows()` (the same model, carrying the joins and annotations a page needs): the
    page is then a deferred join, the filtered queryset only picking the page's ids, so the rows skipped by
    the offset are index entries, not joined rows. And `exact_total()`: a callable giving the total more
    cheaply than a COUNT (the same number), or None."""

    size_param = "per_page"
    default_size = 25
    max_size = 100
    # Past the last page is an empty page, as in Kaminari; past this it is a client bug (and an OFFSET the
    # database driver cannot take).
    max_page = 2**31 - 1

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> list:
        self.page, self.per_page = self.page_and_size(request)
        counter = view.exact_total() if hasattr(view, "exact_total") else None
        self.total_count = counter() if counter is not None else queryset.count()
        self.envelope_key = view.envelope_key
        offset = (self.page - 1) * self.per_page
        if offset >= self.total_count:
            return []
        rows = view.page_rows() if hasattr(view, "page_rows") else None
        if rows is None:
            return list(queryset[offset : offset + self.per_page])
        return list(deferred_page(queryset, rows, offset, self.per_page))

    def get_paginated_response(self, data) -> Response:
        return Response({
            self.envelope_key: data,
            "count": len(data),
            "total_count": self.total_count,
            "current_page": self.page,
            "pages": math.ceil(self.total_count / self.per_page),
            "per_page": self.per_page,
        })


def deferred_page(queryset: QuerySet, rows: QuerySet, offset: int, limit: int) -> QuerySet:
    """`queryset[offset:offset + limit]` read from `rows`, in one query: the ids of the slice in a subquery
    (`id IN (SELECT id ... ORDER BY ... LIMIT ... OFFSET ...)`), then only those rows, in the same order.

    The order must end on a unique key (the searches always end on id), or the two halves could disagree
    on ties. Not for DISTINCT querysets (their ids subquery would need the ordering columns too)."""
    if queryset.query.distinct:
        raise ValueError("deferred_page cannot page a DISTINCT queryset")
    order = queryset.query.order_by or queryset.model._meta.ordering
    ids = queryset.order_by(*order).values("pk")[offset : offset + limit]
    return rows.filter(pk__in=Subquery(ids)).order_by(*order)


# --- the warehouse family --------------------------------------------------------------------------


class WarehousePagination(PageParams):
    """`page` and `limit` (default 50, capped at 100) in; `{"data": [...], "meta": {"total", "page", "limit",
    "hasMore"}}` out."""

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> list:
        self.page, self.limit = self.page_and_size(request)
        self.total = queryset.count()
        offset = (self.page - 1) * self.limit
        self.rows = list(queryset[offset:offset + self.limit])
        self.has_more = offset + len(self.rows) < self.total
        return self.rows

    def get_paginated_response(self, data) -> Response:
        meta = {"total": self.total, "page": self.page, "limit": self.limit, "hasMore": self.has_more}
        return Response({"data": data, "meta": meta})


# --- the ledger family -----------------------------------------------------------------------------


class LedgerPagination(PageParams):
    """`limit` and `page`, each given at most once; no totals (counting a large ledger would cost more than
    the page): the Katana-style `X-Pagination` header says where the page is. One query: the page's ids are
    chosen first, where an index can often answer alone, and only those rows are read (a deferred join);
    one extra row tells whether another page follows."""

    single_values = True
    size_first = True
    header = "X-Pagination"

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> list:
        self.page, self.limit = self.page_and_size(request)
        offset = (self.page - 1) * self.limit
        order = queryset.query.order_by
        page_ids = queryset.values("pk")[offset:offset + self.limit + 1]
        rows = list(view.page_rows().filter(pk__in=page_ids).order_by(*order))
        self.has_more = len(rows) > self.limit
        return rows[:self.limit]

    def get_paginated_response(self, data) -> Response:
        response = Response(data)
        response[self.header] = json.dumps({
            "page": self.page,
            "limit": self.limit,
            "offset": (self.page - 1) * self.limit,
            "first_page": self.page == 1,
            "last_page": not self.has_more,
        })
        return response
