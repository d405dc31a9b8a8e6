"""`manage.py create_api_key USERNAME [--create-user] [--role admin|manager|viewer] [--name NAME] [--expires 90d]`.

Issues a key for an existing user; an unknown USERNAME is refused (a typo must not mint a new account)
unless `--create-user` says to create it (with no password: an API-only account until one is set). Sets the
role when given, and prints the raw key alone on stdout, so scripts can capture it:
`KEY=$(python manage.py create_api_key ci-bot --create-user --role viewer)`. Only the key's hash is stored;
the raw key cannot be shown again. `--expires` takes a duration (`90d`, `12h`, `30m`, `2w`) or a date
(`YYYY-MM-DD`); from then on the key is refused. Everything else goes to stderr.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import transaction

from accounts.keys import parse_expiry, when
from accounts.models import ApiKey, Role
from inventory.management.base import StockroomCommand


class Command(StockroomCommand):
    quiet_stdout = False  # the key is the command's product, printed whatever the verbosity
    help = "Issue an API key for USERNAME (an existing user, or --create-user) and print the key alone on stdout."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--create-user", action="store_true",
                            help="Create USERNAME if there is no such user (otherwise refused).")
        parser.add_argument("--role", choices=Role.values,
                            help="Set the user's role (new users default to viewer).")
        parser.add_argument("--name", default="", help="A label for the key, e.g. the client that will use it.")
        parser.add_argument("--expires", help="Refuse the key after a duration (90d, 12h, 30m, 2w) or from a date "
                                              "(YYYY-MM-DD). Default: never.")

    def handle(self, *args, username: str, create_user: bool, role: str | None, name: str,
               expires: str | None, **options) -> None:
        username = username.strip()
        if not username:
            raise CommandError("USERNAME can't be empty.")
        if len(name) > ApiKey._meta.get_field("name").max_length:
            raise CommandError("--name is too long (at most 100 characters).")
        expires_at = parse_expiry(expires) if expires is not None else None
        user_model = get_user_model()
        with transaction.atomic():
            user = user_model.objects.filter(username=username).first()
            if user is None:
                if not create_user:
                    raise CommandError(f"No user {username!r}; check the name, or pass --create-user to create it.")
                user = user_model(username=username, role=role or Role.VIEWER)
                user.set_unusable_password()
                user.save()
                self.stderr.write(f"Created user {username} (role {user.role}).")
            elif role and user.role != role:
                user.role = role
                user.save(update_fields=["role"])
                self.stderr.write(f"Set the role of {username} to {role}.")
            if not user.is_active:
                raise CommandError(f"User {username} is inactive; their keys would not authenticate.")
            key, raw = ApiKey.issue(user, name=name, expires=expires_at)
        if expires_at is not None:
            self.stderr.write(f"Key {key.prefix} expires {when(expires_at)} UTC.")
        self.stdout.write(raw)
