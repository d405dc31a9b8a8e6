"""`manage.py list_api_keys [--user USERNAME] [--all]`: the API keys, one line each (never the key itself).

Columns: id, prefix (the key's first 8 characters), user, role, name, created, last used (to the minute),
expires, status (active, revoked, expired). Revoked and expired keys are listed only with `--all`.
"""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db.models import Q
from django.utils import timezone

from accounts.keys import key_rows, table
from accounts.models import ApiKey, User
from inventory.management.base import StockroomCommand


class Command(StockroomCommand):
    help = "List API keys: prefix, user, role, name, created, last used, expiry and status."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", help="Only this user's keys.")
        parser.add_argument("--all", action="store_true", help="Include revoked and expired keys.")

    def handle(self, *args, user: str | None, all: bool, **options) -> None:
        keys = ApiKey.objects.select_related("user").order_by("user__username", "created", "pk")
        if user is not None:
            if not User.objects.filter(username=user).exists():
                raise CommandError(f"No user {user!r}.")
            keys = keys.filter(user__username=user)
        if not all:
            keys = keys.filter(Q(expires__isnull=True) | Q(expires__gt=timezone.now()), revoked=False)
        rows = key_rows(keys)
        self.stdout.write(table(rows))
        self.stderr.write(f"{len(rows)} key{'s' if len(rows) != 1 else ''}.")
