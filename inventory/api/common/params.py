"""Query parameters read strictly, the same way in every family."""

from __future__ import annotations

from inventory.api.common.errors import InvalidParameter
from inventory.api.common.text import ascii_int
from inventory.search.ransack import MAX_INT, cast_bool

# Primary keys are 64-bit; a bigger number can match nothing and would overflow PostgreSQL's bigint.
MAX_ID = MAX_INT


def int_param(
    request,
    name: str,
    *,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    clamp: bool = False,
) -> int | None:
    """A whole-number query parameter. Bad text or out of range: InvalidParameter naming it, unless
    `clamp`, which caps at `maximum` (values below `minimum` are always refused)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = ascii_int(raw)
    except ValueError:
        raise InvalidParameter(name, f"'{raw}' is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise InvalidParameter(name, f"must be at least {minimum}.")
    if maximum is not None and value > maximum:
        if clamp:
            return maximum
        raise InvalidParameter(name, f"must be at most {maximum}.")
    return value


def flag_param(request, name: str) -> bool:
    """A boolean query parameter, read as ransack reads flags (absent or blank: false)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return False
    try:
        return cast_bool(raw)
    except ValueError as exc:
        raise InvalidParameter(name, str(exc)) from None
