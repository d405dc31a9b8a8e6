"""Ransack-style search and sort: `q[ATTR_PRED]=value` and `q[s]=attr dir` -> Q objects and order_by.

Each endpoint declares a `Searchable`: the attributes of its model a client may filter and sort on,
and the associations it may walk (`stock_item_variant_sku_eq` walks stock_item -> variant -> sku).
Only names in that allowlist ever reach the ORM, and they reach it as lookups we wrote ourselves
(`stock_item__variant__sku`), never as text from the request: a client cannot reach `created_by` or
spell Django's `__` traversal. Anything not understood is an error naming the parameter (a
`SearchError`, which the API renders as 422), never a 500 and never silently ignored.

Like ransack, a condition whose value is empty (`q[sku_cont]=`) is skipped: search forms send empty
fields. Its name is still checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

# --- attribute types ------------------------------------------------------------------------------

INT = "int"
DECIMAL = "decimal"
STR = "str"
CHOICE = "choice"
BOOL = "bool"
DATETIME = "datetime"
DATE = "date"

TEXT_KINDS = {STR, CHOICE}
ORDERED_KINDS = {INT, DECIMAL, STR, CHOICE, DATETIME, DATE}

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

SORT_KEYS = ("s", "sorts")
TRUE_VALUES = {"1", "t", "true", "y", "yes", "on"}
FALSE_VALUES = {"0", "f", "false", "n", "no", "off"}

MAX_VALUE_LENGTH = 1000
MAX_LIST_VALUES = 500
MAX_INT = 2**63 - 1  # a bigger literal overflows the database driver (a 500), so it is refused here
MAX_DECIMAL_DIGITS = 30

_PARAM_RE = re.compile(r"^q\[([^\[\]]+)\](\[\])?$")
_SORT_RE = re.compile(r"^([a-z][a-z0-9_]*)(?:\s+(asc|desc))?$", re.IGNORECASE)
_INT_RE = re.compile(r"^[+-]?[0-9]+$")  # ASCII only: \d also matches other scripts' digits
_DECIMAL_RE = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")


class SearchError(ValueError):
    """One or more bad `q` parameters: `errors` maps each parameter, as the client spelled it, to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


# --- the allowlist ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A searchable attribute: its kind and, if it differs from the name, the model field it reads."""

    kind: str
    lookup: str | None = None
    choices: tuple[str, ...] = ()
    sortable: bool = True


@dataclass(frozen=True)
class Relation:
    """An association a search may walk: `lookup` is the ORM relation, `many` when it is to-many."""

    lookup: str
    target: Searchable
    many: bool = False


@dataclass(frozen=True)
class Attribute:
    """A flattened allowlist entry: `stock_item_variant_sku` -> `stock_item__variant__sku`."""

    name: str
    lookup: str
    kind: str
    choices: tuple[str, ...]
    sortable: bool
    many: bool


@dataclass
class Searchable:
    """What one endpoint lets clients search and sort on, and its default order."""

    fields: Mapping[str, Field]
    relations: Mapping[str, Relation] = field(default_factory=dict)
    default_order: tuple[str, ...] = ("-id",)

    def attributes(self) -> dict[str, Attribute]:
        """Every reachable attribute by its ransack name; an attribute declared directly wins over the
        same name reached through an association (`stock_item_id` is the foreign key, not a join)."""
        out: dict[str, Attribute] = {}
        for name, spec in self.fields.items():
            out[name] = Attribute(name, spec.lookup or name, spec.kind, spec.choices, spec.sortable, False)
        for rel_name, relation in self.relations.items():
            for sub in relation.target.attributes().values():
                name = f"{rel_name}_{sub.name}"
                if name in out:
                    continue
                many = relation.many or sub.many
                out[name] = Attribute(name, f"{relation.lookup}__{sub.lookup}", sub.kind, sub.choices,
                                      sub.sortable and not many, many)
        return out


def model_fields(model: type[models.Model], *names: str, sortable: bool = True) -> dict[str, Field]:
    """Fields of `model` by name (or attname, like `stock_item_id`), their kinds read from the model."""
    out = {}
    for name in names:
        model_field = model._meta.get_field(name)
        out[name] = Field(kind=_kind_of(model_field), lookup=getattr(model_field, "attname", name),
                          choices=tuple(str(c[0]) for c in (model_field.choices or ())), sortable=sortable)
    return out


def _kind_of(model_field) -> str:
    if isinstance(model_field, models.ForeignKey):
        return _kind_of(model_field.target_field)
    if isinstance(model_field, models.BooleanField):
        return BOOL
    if isinstance(model_field, models.DateTimeField):
        return DATETIME
    if isinstance(model_field, models.DateField):
        return DATE
    if isinstance(model_field, models.DecimalField):
        return DECIMAL
    if isinstance(model_field, models.IntegerField | models.AutoField | models.BigAutoField):
        return INT
    if isinstance(model_field, models.CharField | models.TextField):
        return CHOICE if model_field.choices else STR
    raise TypeError(f"no search kind for {model_field!r}")


# --- the result ---------------------------------------------------------------------------------------


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


# --- parsing ---------------------------------------------------------------------------------------------


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
            parsed = _condition(resolved, values, as_list)
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


def _condition(resolved: tuple[Attribute, str], values: list[str], as_list: bool) -> tuple[Q, object] | None:
    """The Q of one condition and the value it tests (a list for list predicates, the flag for flags)."""
    attribute, predicate = resolved
    lookup = attribute.lookup
    if predicate in LIST_PREDICATES:
        items = _list_values(values, as_list)
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

    value = cast(attribute, raw) if predicate not in TEXT_PREDICATES else _text(raw)
    if predicate == "eq":
        return Q(**{lookup: value}), value
    if predicate == "not_eq":
        # SQL `x <> v` (ransack) leaves out rows where x is null; Django's exclude would keep them.
        return ~Q(**{lookup: value}) & Q(**{f"{lookup}__isnull": False}), value
    if predicate == "not_cont":
        return ~Q(**{f"{lookup}__icontains": value}) & Q(**{f"{lookup}__isnull": False}), value
    return Q(**{f"{lookup}__{ORM_LOOKUP[predicate]}": value}), value


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


def _list_values(values: list[str], as_list: bool) -> list[str]:
    # q[x_in][]=a&q[x_in][]=b takes each value verbatim: the way to pass a value containing a comma.
    items = values if as_list else [part for value in values for part in value.split(",")]
    items = [item.strip() for item in items]
    if all(item == "" for item in items):
        return []  # an empty search field, skipped as ransack does
    if "" in items:
        raise ValueError("A list has an empty element (write `1,2`, not `1,,2`).")
    return items


def _text(raw: str) -> str:
    if len(raw) > MAX_VALUE_LENGTH:
        raise ValueError(f"Values are at most {MAX_VALUE_LENGTH} characters.")
    return raw


def cast_bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise ValueError(f"'{raw}' is not a boolean (use true or false).")


def cast(attribute: Attribute, raw: str):
    """The value `raw` as the attribute's type; ValueError with a message for the client."""
    text = raw.strip()
    kind = attribute.kind
    if kind == INT:
        if not _INT_RE.match(text):
            raise ValueError(f"'{raw}' is not a whole number.")
        value = int(text)
        if abs(value) > MAX_INT:
            raise ValueError(f"'{raw}' is out of range.")
        return value
    if kind == DECIMAL:
        if not _DECIMAL_RE.match(text) or len(text) > MAX_DECIMAL_DIGITS + 2:
            raise ValueError(f"'{raw}' is not a number.")
        try:
            return Decimal(text)
        except InvalidOperation:
            raise ValueError(f"'{raw}' is not a number.") from None
    if kind == BOOL:
        return cast_bool(text)
    if kind == DATETIME:
        return _datetime(raw, text)
    if kind == DATE:
        parsed = _date_only(text)
        if parsed is None:
            raise ValueError(f"'{raw}' is not a date (YYYY-MM-DD).")
        return parsed
    if kind == CHOICE and attribute.choices and raw not in attribute.choices:
        raise ValueError(f"'{raw}' is not one of {', '.join(attribute.choices)}.")
    return _text(raw)


def _date_only(text: str) -> date | None:
    if not text.isascii():  # Django's parsers read any script's digits
        return None
    try:
        return parse_date(text)
    except ValueError:
        return None


def _datetime(raw: str, text: str) -> datetime:
    """ISO 8601 date-time; a bare date means its midnight, a time without offset the server's zone."""
    try:
        parsed = parse_datetime(text) if text.isascii() else None
    except ValueError:
        parsed = None
    if parsed is None:
        day = _date_only(text)
        if day is None:
            raise ValueError(f"'{raw}' is not an ISO 8601 date or date-time.")
        parsed = datetime.combine(day, time.min)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # past the calendar's ends in UTC: before, or after, every row there is
        return datetime.min.replace(tzinfo=UTC) if parsed.year == 1 else datetime.max.replace(tzinfo=UTC)


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
