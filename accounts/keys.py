"""Helpers of the API key commands: expiry parsing and the key table."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import ApiKey

UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)


def parse_expiry(text: str, *, now: datetime | None = None) -> datetime:
    """`90d`, `12h`, `30m`, `2w` from now, or a date `2027-03-31` (the key ends at that day's start, UTC)."""
    now = now or timezone.now()
    if match := DURATION.match(text):
        amount = int(match.group(1))
        if amount <= 0:
            raise CommandError("--expires must be a positive duration.")
        try:
            return now + timedelta(**{UNITS[match.group(2).lower()]: amount})
        except OverflowError:
            raise CommandError(f"--expires {text} is too far ahead.") from None
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"--expires takes a duration (90d, 12h, 30m, 2w) or a date (YYYY-MM-DD), not {text!r}."
                           ) from None
    when = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
    if when <= now:
        raise CommandError(f"--expires {text} is not in the future.")
    return when


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


COLUMNS = ("ID", "PREFIX", "USER", "ROLE", "NAME", "CREATED", "LAST USED", "EXPIRES", "STATUS")


def key_rows(keys) -> list[tuple[str, ...]]:
    return [(str(k.pk), k.prefix, k.user.username, k.user.role, k.name or "-", when(k.created), when(k.last_used),
             when(k.expires), k.status) for k in keys]


def table(rows: list[tuple[str, ...]]) -> str:
    """Plain aligned columns (greppable, no colours): one line per key under a header."""
    widths = [max(len(r[i]) for r in (COLUMNS, *rows)) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in (COLUMNS, *rows))


def keys_named(prefixes: list[str]) -> list[ApiKey]:
    """The keys with these ids or prefixes; every name must match exactly one key."""
    found, errors = [], []
    for name in prefixes:
        by_prefix = ApiKey.objects.filter(prefix=name)
        matches = list(by_prefix.select_related("user")) if not name.isdigit() else list(
            (ApiKey.objects.filter(pk=int(name)) | by_prefix).select_related("user"))
        if not matches:
            errors.append(f"no key has the id or prefix {name!r}")
        elif len(matches) > 1:
            errors.append(f"{name!r} names {len(matches)} keys (ids {', '.join(str(k.pk) for k in matches)}): "
                          "give the id")
        else:
            found.append(matches[0])
    if errors:
        raise CommandError("; ".join(errors) + ".")
    return found
