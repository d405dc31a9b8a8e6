"""Ransack's predicates: which attribute kinds each applies to, how a name splits into attribute and
predicate, and the Q object of one condition."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import Q

from inventory.search.allowlist import Attribute
from inventory.search.values import (
    BOOL,
    MAX_LIST_VALUES,
    ORDERED_KINDS,
    TEXT_KINDS,
    cast,
    cast_bool,
    list_values,
    text_value,
)

# Predicates, and which attribute kinds each applies to (None: every kind).
PREDICATE_KINDS: dict[str, set[str] | None] = {
    "eq": None,
    "not_eq": None,
    "lt": ORDERED_KINDS,
    "lteq": ORDERED_KINDS,
    "gt": ORDERED_KINDS,
    "gteq": ORDERED_KINDS,
    "in": None,
    "not_in": None,
    "cont": TEXT_KINDS,
    "not_cont": TEXT_KINDS,
    "i_cont": TEXT_KINDS,
    "start": TEXT_KINDS,
    "end": TEXT_KINDS,
    "null": None,
    "not_null": None,
    "present": TEXT_KINDS,
    "blank": TEXT_KINDS,
    "true": {BOOL},
    "false": {BOOL},
}
PREDICATES = tuple(PREDICATE_KINDS)
LIST_PREDICATES = {"in", "not_in"}
# Predicates whose value is a flag (`q[sku_null]=1`), as in ransack.
FLAG_PREDICATES = {"null", "not_null", "present", "blank", "true", "false"}
TEXT_PREDICATES = {"cont", "not_cont", "i_cont", "start", "end"}
ORM_LOOKUP = {
    "lt": "lt",
    "lteq": "lte",
    "gt": "gt",
    "gteq": "gte",
    # Ransack's text matches ignore case (ILIKE on PostgreSQL); so do ours, on every database (SQLite folds
    # the case of ASCII letters only).
    "cont": "icontains",
    "i_cont": "icontains",
    "start": "istartswith",
    "end": "iendswith",
}


def resolve_name(name: str, attributes: Mapping[str, Attribute]) -> tuple[Attribute, str]:
    """Split `stock_item_variant_sku_not_eq` into (attribute, predicate).

    Several splits can be valid (`x_not_eq` is x + not_eq, or x_not + eq); the longest allowlisted
    attribute wins, which is what a reader of the name expects when both exist.
    """
    candidates = [
        (attributes[name[: -len(pred) - 1]], pred)
        for pred in PREDICATES
        if name.endswith("_" + pred) and name[: -len(pred) - 1] in attributes
    ]
    if not candidates:
        predicates = [pred for pred in PREDICATES if name.endswith("_" + pred)]
        if not predicates:
            raise ValueError(f"'{name}' does not end with a known predicate ({', '.join(PREDICATES)}).")
        attr = name[: -len(max(predicates, key=len)) - 1]
        raise ValueError(f"'{attr}' is not a searchable attribute here.")
    attribute, predicate = max(candidates, key=lambda c: len(c[0].name))
    allowed = PREDICATE_KINDS[predicate]
    if allowed is not None and attribute.kind not in allowed:
        raise ValueError(f"The predicate '{predicate}' does not apply to '{attribute.name}'.")
    return attribute, predicate


def to_q(resolved: tuple[Attribute, str], values: list[str], as_list: bool) -> tuple[Q, object] | None:
    """The Q of one condition and the value it tests (a list for list predicates, the flag for flags)."""
    attribute, predicate = resolved
    lookup = attribute.lookup
    if predicate in LIST_PREDICATES:
        items = list_values(values, as_list)
        if not items:
            return None
        if len(items) > MAX_LIST_VALUES:
            raise ValueError(f"At most {MAX_LIST_VALUES} values may be given.")
        parsed = [cast(attribute, item) for item in items]
        if predicate == "in":
            return Q(**{f"{lookup}__in": parsed}), parsed
        return ~Q(**{f"{lookup}__in": parsed}) & Q(**{f"{lookup}__isnull": False}), parsed

    if as_list or len(values) > 1:
        raise ValueError(f"The predicate '{predicate}' takes one value.")
    raw = values[0] if values else ""
    if raw.strip() == "":
        return None

    if predicate in FLAG_PREDICATES:
        flag = cast_bool(raw)
        if predicate in ("null", "not_null"):
            return Q(**{f"{lookup}__isnull": flag == (predicate == "null")}), flag
        if predicate in ("present", "blank"):
            blank = Q(**{f"{lookup}__isnull": True}) | Q(**{lookup: ""})
            return (blank if flag == (predicate == "blank") else ~blank), flag
        wanted = predicate == "true"
        # x_true=0 is "not true" in SQL: false, but not null.
        return Q(**{lookup: wanted if flag else not wanted}), flag

    value = cast(attribute, raw) if predicate not in TEXT_PREDICATES else text_value(raw)
    if predicate == "eq":
        return Q(**{lookup: value}), value
    if predicate == "not_eq":
        # SQL `x <> v` (ransack) leaves out rows where x is null; Django's exclude would keep them.
        return ~Q(**{lookup: value}) & Q(**{f"{lookup}__isnull": False}), value
    if predicate == "not_cont":
        return ~Q(**{f"{lookup}__icontains": value}) & Q(**{f"{lookup}__isnull": False}), value
    return Q(**{f"{lookup}__{ORM_LOOKUP[predicate]}": value}), value
