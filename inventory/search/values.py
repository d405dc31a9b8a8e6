"""Attribute kinds and the casting of a raw query-string value to an attribute's kind.

Every failure is a ValueError whose message is for the client (the parser files it under the parameter).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

if TYPE_CHECKING:
    from inventory.search.allowlist import Attribute

INT = "int"
DECIMAL = "decimal"
STR = "str"
CHOICE = "choice"
BOOL = "bool"
DATETIME = "datetime"
DATE = "date"

TEXT_KINDS = {STR, CHOICE}
ORDERED_KINDS = {INT, DECIMAL, STR, CHOICE, DATETIME, DATE}

TRUE_VALUES = {"1", "t", "true", "y", "yes", "on"}
FALSE_VALUES = {"0", "f", "false", "n", "no", "off"}

MAX_VALUE_LENGTH = 1000
MAX_LIST_VALUES = 500
MAX_INT = 2**63 - 1  # a bigger literal overflows the database driver (a 500), so it is refused here
MAX_DECIMAL_DIGITS = 30

_INT_RE = re.compile(r"^[+-]?[0-9]+$")  # ASCII only: \d also matches other scripts' digits
_DECIMAL_RE = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")


def list_values(values: list[str], as_list: bool) -> list[str]:
    # q[x_in][]=a&q[x_in][]=b takes each value verbatim: the way to pass a value containing a comma.
    items = values if as_list else [part for value in values for part in value.split(",")]
    return [item.strip() for item in items if item.strip() != ""]


def text_value(raw: str) -> str:
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
    return text_value(raw)


def _date_only(text: str) -> date | None:
    try:
        return parse_date(text)
    except ValueError:
        return None


def _datetime(raw: str, text: str) -> datetime:
    """ISO 8601 date-time; a bare date means its midnight, a time without offset the server's zone."""
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        day = _date_only(text)
        if day is None:
            raise ValueError(f"'{raw}' is not an ISO 8601 date or date-time.")
        parsed = datetime.combine(day, time.min)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed
