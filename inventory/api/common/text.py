"""What every text input of the APIs must be, checked once for all of them: no NUL characters (PostgreSQL
cannot store or compare one, so a NUL reaching a query was a 500), and numbers written in ASCII digits
(Python's int() and Decimal() also read full-width and Arabic-Indic digits: "５" was a quantity of 5)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from rest_framework import exceptions

NUL = "\x00"
NUL_MESSAGE = "must not contain NUL characters."
_ASCII_INT = re.compile(r"[+-]?[0-9]+")


def ascii_int(text: str) -> int:
    """`text` (surrounding spaces allowed) as an int, if it is written in ASCII digits; ValueError otherwise."""
    stripped = text.strip()
    if not _ASCII_INT.fullmatch(stripped):
        raise ValueError(f"'{text}' is not a whole number.")
    return int(stripped)


def printable_name(name: str) -> str:
    """A parameter or field name as it can be shown back to the client (a NUL written as \\0)."""
    return name.replace(NUL, "\\0")


def nul_paths(data, prefix: str = "") -> Iterator[str]:
    """Where `data` (parsed JSON, or a mapping of lists as a form is) holds a NUL, in a key or a string,
    named as the families name fields: `stock_movement.notes`, `adjustments[2].reason`. Iterative, so a
    deep body cannot exhaust the stack (the parser bounds the depth anyway)."""
    stack = [(prefix, data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                yield path or "body"
        elif isinstance(value, dict):
            for key, child in value.items():
                name = f"{path}.{key}" if path else str(key)
                if NUL in str(key):
                    yield printable_name(name)
                else:
                    stack.append((name, child))
        elif isinstance(value, list | tuple):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(value))


def refuse_nul_in_request(request, kwargs: dict, bad_query_class) -> None:
    """Query parameters (names and values) and path parameters: a NUL in a path parameter names nothing
    that can exist (404); one in a query parameter is a 422 naming it."""
    if any(isinstance(value, str) and NUL in value for value in kwargs.values()):
        raise exceptions.NotFound()
    errors = {printable_name(name): [NUL_MESSAGE] for name, values in request.query_params.lists()
              if NUL in name or any(NUL in value for value in values)}
    if errors:
        raise bad_query_class(errors)
