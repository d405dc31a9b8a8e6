"""`manage.py purge_idempotency [--older-than HOURS] [--dry-run]`: delete expired Idempotency-Key records.

Exit code 0, or 2 for a bad option (argparse / CommandError).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from inventory.services.idempotency import purge_expired


class Command(BaseCommand):
    help = ("Delete the stored answers to Idempotency-Key requests that are older than "
            "STOCKROOM_IDEMPOTENCY_TTL_HOURS (default 24): their keys are expired and never replayed. "
            "Safe to run at any time, e.g. hourly from cron.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--older-than", type=float, metavar="HOURS",
                            help="purge records older than this many hours instead of the configured expiry "
                                 "(at least the expiry: a younger record may still be replayed)")
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")

    def handle(self, *args, older_than: float | None, dry_run: bool, verbosity: int, **options) -> None:
        ttl = settings.STOCKROOM_IDEMPOTENCY_TTL_HOURS
        if older_than is not None and not ttl <= older_than < 24 * 366 * 100:
            raise CommandError(f"--older-than must be at least the expiry, {ttl:g} hours.", returncode=2)
        hours = ttl if older_than is None else older_than
        count = purge_expired(older_than=timedelta(hours=hours), dry_run=dry_run)
        if verbosity:
            verb = "Would delete" if dry_run else "Deleted"
            self.stdout.write(f"{verb} {count} idempotency record(s) older than {hours:g} hours.")
