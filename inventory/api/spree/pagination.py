"""Spree's (Kaminari's) paging: `page` and `per_page` in, `count`/`total_count`/`current_page`/`pages`/
`per_page` out."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet, Subquery

from inventory.api.common import int_param

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
# Past the last page is an empty page, as in Kaminari; past this it is a client bug (and an OFFSET
# the database driver cannot take), answered 422.
MAX_PAGE = 2**31 - 1


@dataclass
class Page:
    items: list
    total_count: int
    current_page: int
    per_page: int

    @property
    def pages(self) -> int:
        return math.ceil(self.total_count / self.per_page)

    def envelope(self, key: str, rows: list) -> dict:
        return {
            key: rows,
            "count": len(rows),
            "total_count": self.total_count,
            "current_page": self.current_page,
            "pages": self.pages,
            "per_page": self.per_page,
        }


def paginate(request, queryset: QuerySet, prepare: Callable[[list], None] | None = None, *,
             rows: QuerySet | None = None, count: Callable[[], int] | None = None) -> Page:
    """One page of `queryset` (two queries: the count and the rows). `per_page` above the maximum is
    served as the maximum (the envelope says so); zero, negative or non-numeric values are a 422.

    With `rows` (the same model, carrying the joins and annotations a page needs), the page is a deferred
    join: `queryset` only picks the page's ids, so the rows skipped by the offset are index entries, not
    joined rows. With `count`, the total comes from it instead of a COUNT over `queryset` (it must give the
    same number)."""
    page = int_param(request, "page", default=1, minimum=1, maximum=MAX_PAGE)
    per_page = int_param(request, "per_page", default=DEFAULT_PER_PAGE, minimum=1, maximum=MAX_PER_PAGE,
                         clamp=True)
    total = count() if count is not None else queryset.count()
    offset = (page - 1) * per_page
    if offset >= total:
        items = []
    elif rows is None:
        items = list(queryset[offset : offset + per_page])
    else:
        items = list(deferred_page(queryset, rows, offset, per_page))
    if prepare is not None and items:
        prepare(items)
    return Page(items=items, total_count=total, current_page=page, per_page=per_page)


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
