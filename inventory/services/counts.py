"""Bulk physical counts: many (variant, location, counted quantity) rows applied all-or-nothing.

Shared by `POST /api/v1/inventory/adjustments` and `manage.py apply_count`. Every row is checked before
anything is written and every problem is reported at once (CountRejected); then, in one transaction,
missing stock items are created, all items are locked in primary-key order, and each row becomes a
`counted` movement of the difference from `count_on_hand` (none when the count matches) and stamps
`last_counted_at`. All movements of one count share a cause: resource_type `stock_count` and a
reference unique to the count, so the whole count can be found again in every API family.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from inventory.models import StockItem, StockLocation, StockMovement, Variant
from inventory.services.catalog import ensure_stock_items
from inventory.services.errors import InvalidMovement, StockError
from inventory.services.locking import lock_all
from inventory.services.movements import apply_counts_to_locked
from inventory.services.rules import MAX_QUANTITY, Cause

COUNT_RESOURCE_TYPE = "stock_count"
# Keeps `variant_id IN (...)` under every backend's bound-parameter limit.
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class CountRow:
    """One counted line. `key` is the caller's name for the row (an index in a request, a line number in a
    file); a field the caller could not parse (and has already reported) is None and is not checked again."""

    key: int
    variant_id: int | None
    location_id: int | None
    counted: int | None
    reason: str = ""


@dataclass(frozen=True)
class RowProblem:
    key: int
    field: str
    message: str


class CountRejected(StockError):
    """At least one row of a count is invalid; nothing was written. `problems` lists them all, by key."""

    field = "rows"
    code = "count_rejected"

    def __init__(self, problems: Iterable[RowProblem], *, row_label: str = "row") -> None:
        self.problems = sorted(problems, key=lambda p: p.key)
        keys = sorted({p.key for p in self.problems})
        shown = ", ".join(str(k) for k in keys[:20]) + (", ..." if len(keys) > 20 else "")
        plural = "s" if len(keys) != 1 else ""
        super().__init__(f"{len(keys)} invalid {row_label}{plural} ({shown}); nothing was written.")

    def as_errors(self) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for problem in self.problems:
            errors.setdefault(f"{problem.key}.{problem.field}", []).append(problem.message)
        return errors


@dataclass(frozen=True)
class CountResult:
    row: CountRow
    item: StockItem
    quantity_before: int
    quantity_after: int
    movement: StockMovement | None

    @property
    def difference(self) -> int:
        return self.quantity_after - self.quantity_before


@dataclass(frozen=True)
class CountBatch:
    reference: str
    results: list[CountResult]

    @property
    def changed(self) -> list[CountResult]:
        return [r for r in self.results if r.movement is not None]

    @property
    def units_added(self) -> int:
        return sum(r.difference for r in self.results if r.difference > 0)

    @property
    def units_removed(self) -> int:
        return -sum(r.difference for r in self.results if r.difference < 0)


def parse_counted(raw) -> int:
    """A counted quantity from JSON or text: a whole number from 0 to MAX_QUANTITY (digit strings accepted).
    Raises ValueError with a message fit for the user."""
    if isinstance(raw, bool) or raw is None:
        raise ValueError("must be a whole number.")
    if isinstance(raw, float):
        if not raw.is_integer():
            raise ValueError(f"{raw!r} is not a whole number.")
        raw = int(raw)
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            raise ValueError("is missing.")
        try:
            raw = int(text)
        except ValueError:
            raise ValueError(f"'{text}' is not a whole number.") from None
    if not isinstance(raw, int):
        raise ValueError("must be a whole number.")
    if raw < 0:
        raise ValueError(f"can't be negative ({raw}).")
    if raw > MAX_QUANTITY:
        raise ValueError(f"must be at most {MAX_QUANTITY}.")
    return raw


def new_count_reference() -> str:
    return f"CNT{timezone.now():%Y%m%d%H%M%S}-{secrets.token_hex(3).upper()}"


def _existing(model, ids: set[int]) -> set[int]:
    found: set[int] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start:start + LOOKUP_CHUNK]
        found.update(model.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    return found


def find_problems(rows: Sequence[CountRow], *, row_label: str = "row",
                  reported: Iterable[int] = (), locations: Collection[int] | None = None) -> list[RowProblem]:
    """Every problem of the rows, with a constant number of queries: unknown variant or location, a counted
    quantity out of range, the same (variant, location) counted twice. A field left None is missing, unless
    its row is in `reported` (the caller already said what was wrong with it). `locations`: the ids of the
    rows' locations that exist, when the caller has read them already."""
    problems: list[RowProblem] = []
    reported = set(reported)
    for row in rows:
        if row.key in reported:
            continue
        for field, value in (("product_id", row.variant_id), ("warehouse_id", row.location_id),
                             ("actual_quantity", row.counted)):
            if value is None:
                problems.append(RowProblem(row.key, field, "This field is required."))
    variants = _existing(Variant, {r.variant_id for r in rows if r.variant_id is not None})
    if locations is None:
        locations = _existing(StockLocation, {r.location_id for r in rows if r.location_id is not None})
    first_seen: dict[tuple[int, int], int] = {}
    for row in rows:
        if row.variant_id is not None and row.variant_id not in variants:
            problems.append(RowProblem(row.key, "product_id", f"No product with id {row.variant_id}."))
        if row.location_id is not None and row.location_id not in locations:
            problems.append(RowProblem(row.key, "warehouse_id", f"No warehouse with id {row.location_id}."))
        if row.counted is not None:
            try:
                parse_counted(row.counted)
            except ValueError as exc:
                problems.append(RowProblem(row.key, "actual_quantity", f"Counted quantity {exc}"))
        if row.variant_id is not None and row.location_id is not None:
            pair = (row.variant_id, row.location_id)
            if pair in first_seen:
                problems.append(RowProblem(row.key, "product_id",
                                           f"Counted twice: the same product and warehouse as {row_label} "
                                           f"{first_seen[pair]}."))
            else:
                first_seen[pair] = row.key
    return problems


def apply_counts(
    rows: Sequence[CountRow],
    *,
    user=None,
    known_problems: Iterable[RowProblem] = (),
    row_label: str = "row",
    on_result: Callable[[CountResult], None] | None = None,
) -> CountBatch:
    """Check every row, then apply them all in one transaction (see the module docstring).

    `known_problems` are problems the caller found while parsing (bad numbers, unknown skus); they are
    reported together with those found here.
    `on_result` is called for each row once the whole count is written.
    Raises CountRejected listing every problem, and writes nothing, if any row is invalid.
    """
    known_problems = list(known_problems)
    if not rows and not known_problems:
        raise InvalidMovement("A count needs at least one row.", field="rows")
    with transaction.atomic():
        reported = {p.key for p in known_problems}
        locations = StockLocation.objects.in_bulk({r.location_id for r in rows if r.location_id is not None})
        problems = [*known_problems, *find_problems(rows, row_label=row_label, reported=reported,
                                                     locations=locations.keys())]
        if problems:
            raise CountRejected(problems, row_label=row_label)

        wanted: dict[int, list[int]] = {}
        for row in rows:
            wanted.setdefault(row.location_id, []).append(row.variant_id)
        item_ids: dict[tuple[int, int], int] = {}
        for location_id, variant_ids in wanted.items():
            for variant_id, item in ensure_stock_items(locations[location_id], variant_ids, create=True).items():
                item_ids[(variant_id, location_id)] = item.pk
        locked = lock_all(item_ids.values())

        reference = new_count_reference()
        cause = Cause(resource_type=COUNT_RESOURCE_TYPE, resource_id=reference)
        # One set-based write for the whole count (find_problems refused any item counted twice).
        plan = [(locked[item_ids[(row.variant_id, row.location_id)]], parse_counted(row.counted), row.reason)
                for row in rows]
        before = [item.count_on_hand for item, _, _ in plan]
        movements = apply_counts_to_locked(plan, user=user, cause=cause)
        results = [
            CountResult(row=row, item=item, quantity_before=quantity_before, quantity_after=item.count_on_hand,
                        movement=movement)
            for row, (item, _, _), quantity_before, movement in zip(rows, plan, before, movements, strict=True)
        ]
        if on_result is not None:
            for result in results:
                on_result(result)
        return CountBatch(reference=reference, results=results)
