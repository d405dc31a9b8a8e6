"""Dates and date-times the APIs read, bounded so that no arithmetic on them can leave Python's calendar
(years 1 to 9999): `end_date=9999-12-31` plus its whole day, or `9999-12-31T23:59:59-05:00` in UTC, was an
OverflowError (500).

- Filters take any date of the calendar; one past the last instant the database can be asked about means
  "no bound" (clamped to the calendar's ends, before and after every movement there is).
- Dates written into the ledger (a movement's date) lie from EARLIEST_WRITE on (the services' rule, applied
  by the serializer field too so that a body lists every problem); the services refuse the future.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from inventory.services.rules import EARLIEST_MOVEMENT_DATE

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
EARLIEST_WRITE = EARLIEST_MOVEMENT_DATE  # the movement rule's (inventory/services/rules.py)


def utc(moment: datetime) -> datetime:
    """An aware date-time in UTC; one that falls outside the calendar in UTC becomes its nearer end."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return EARLIEST if moment.year == 1 else LATEST


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def day_end(day: date) -> datetime:
    """The instant after `day` (UTC), exclusive; the calendar's last day ends at LATEST."""
    try:
        return day_start(day) + timedelta(days=1)
    except OverflowError:
        return LATEST
