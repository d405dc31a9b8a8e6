"""`manage.py revoke_api_key PREFIX_OR_ID... | --user USERNAME`: revoke keys; they are refused at once.

A key is named by its prefix (the first 8 characters, as `list_api_keys` shows; a prefix two keys share
is refused: give the id) or its id; `--user` revokes every active key of that user. Revocation deletes the
keys' cached lookups, so with REDIS_URL every app server refuses them from the next request on. All named
keys are revoked together or, if any name is wrong, none.
"""

from __future__ import annotations

import re

from django.core.management.base import CommandError
from django.db import transaction

from accounts.keys import key_rows, keys_named, table
from accounts.models import KEY_PREFIX_LENGTH, ApiKey, User
from inventory.management.base import StockroomCommand

# A prefix is 8 characters of the URL-safe alphabet, so one in 64 starts with "-", which argparse would take
# for an option. No option of this command (or of Django's) is 8 such characters long.
DASHED_PREFIX = re.compile(rf"^-[A-Za-z0-9_-]{{{KEY_PREFIX_LENGTH - 1}}}$")


class Command(StockroomCommand):
    help = "Revoke API keys by prefix or id, or all of a user's (--user)."

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parse_args = parser.parse_args

        def parse(args=None, namespace=None):
            args = list(args or [])
            if "--" not in args and (dashed := [a for a in args if DASHED_PREFIX.match(a)]):
                args = [a for a in args if not DASHED_PREFIX.match(a)] + ["--", *dashed]
            return parse_args(args, namespace)

        parser.parse_args = parse
        return parser

    def add_arguments(self, parser) -> None:
        parser.add_argument("keys", nargs="*", metavar="PREFIX_OR_ID")
        parser.add_argument("--user", help="Revoke every active key of this user.")

    def handle(self, *args, keys: list[str], user: str | None, **options) -> None:
        if bool(keys) == bool(user):
            raise CommandError("Name the keys (PREFIX_OR_ID...) or give --user USERNAME, not both.")
        with transaction.atomic():
            if user is not None:
                if not User.objects.filter(username=user).exists():
                    raise CommandError(f"No user {user!r}.")
                chosen = list(ApiKey.objects.active().filter(user__username=user).select_related("user"))
            else:
                chosen = keys_named(keys)
            fresh = [key for key in chosen if not key.revoked]
            ApiKey.objects.filter(pk__in=[key.pk for key in fresh]).revoke()
        for key in fresh:
            key.revoked = True
        if chosen:
            self.stdout.write(table(key_rows(chosen)))
        self.stderr.write(f"Revoked {len(fresh)} key{'s' if len(fresh) != 1 else ''}"
                          + (f" ({len(chosen) - len(fresh)} already revoked)." if len(chosen) > len(fresh) else "."))
