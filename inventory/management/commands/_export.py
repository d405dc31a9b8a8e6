"""What export_levels and export_movements share: where the CSV goes and how a location is named."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

from django.core.management.base import CommandError
from django.utils import timezone

from inventory.models import StockLocation

USAGE = 2  # the exit status of a bad argument


def location_id(code: str | None) -> int | None:
    if code is None:
        return None
    found = StockLocation.objects.filter(code__iexact=code.strip()).values_list("pk", flat=True).first()
    if found is None:
        raise CommandError(f"unknown location '{code}'.", returncode=USAGE)
    return found


def day_start(text: str | None, option: str, *, after: bool = False) -> datetime | None:
    """The start of day `text` (YYYY-MM-DD) in TIME_ZONE, or of the day after it when `after` (an
    inclusive end date); None when not given or when the day after is past the calendar."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"{option} takes a date as YYYY-MM-DD, not '{text}'.", returncode=USAGE) from None
    if after:
        if day == date.max:
            return None
        day += timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time.min))


@contextmanager
def output(path: str, stdout):
    if path == "-":
        yield stdout
        return
    try:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            yield handle
    except OSError as exc:
        raise CommandError(f"{path}: can't write ({exc.strerror}).", returncode=USAGE) from None


def write_lines(lines: Iterable[str], handle) -> int:
    """Write the CSV lines; return the number of data rows (the header excluded)."""
    written = -1
    try:
        for line in lines:
            handle.write(line)
            written += 1
        handle.flush()
    except BrokenPipeError:  # `export_movements | head`: the reader has all it wanted
        pass
    return max(written, 0)


def stdout_handle(command):
    # The underlying stream: OutputWrapper would add a newline after every write.
    return getattr(command.stdout, "_out", sys.stdout)
