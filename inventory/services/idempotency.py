"""How long the stored answers to `Idempotency-Key` requests are kept, and purging the expired ones.

A record older than `settings.STOCKROOM_IDEMPOTENCY_TTL_HOURS` is no longer replayed (its key acts as new);
`purge_expired` deletes such records, in batches so that no statement holds many row locks for long
(`manage.py purge_idempotency`, from cron; docs/operations.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inventory.models import IdempotencyRecord

PURGE_BATCH = 5000


def idempotency_ttl() -> timedelta:
    return timedelta(hours=settings.STOCKROOM_IDEMPOTENCY_TTL_HOURS)


def expiry_cutoff(older_than: timedelta | None = None) -> datetime:
    """Records created before this moment are expired."""
    return timezone.now() - (idempotency_ttl() if older_than is None else older_than)


def purge_expired(*, older_than: timedelta | None = None, dry_run: bool = False,
                  batch_size: int = PURGE_BATCH) -> int:
    """Delete the records older than `older_than` (default: the configured expiry); how many were (or with
    `dry_run`, would be) deleted. Each batch is its own short transaction, oldest first."""
    expired = IdempotencyRecord.objects.filter(created_at__lt=expiry_cutoff(older_than))
    if dry_run:
        return expired.count()
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(expired.order_by("created_at", "pk").values_list("pk", flat=True)[:batch_size])
            if not batch:
                return deleted
            deleted += IdempotencyRecord.objects.filter(pk__in=batch).delete()[0]
