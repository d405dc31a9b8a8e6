"""`manage.py create_api_key USERNAME [--role admin|manager|viewer] [--name NAME]`.

Creates the user if needed (with no password: an API-only account until one is set), sets the role when
given, issues a key and prints the raw key alone on stdout, so scripts can capture it:
`KEY=$(python manage.py create_api_key ci-bot --role viewer)`. Only the key's hash is stored; the raw key
cannot be shown again. Everything else goes to stderr.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import transaction

from accounts.models import ApiKey, Role
from inventory.management.base import StockroomCommand


class Command(StockroomCommand):
    quiet_stdout = False  # the key is the command's product, printed whatever the verbosity
    help = "Issue an API key for USERNAME (created if needed) and print the key alone on stdout."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=Role.values,
                            help="Set the user's role (new users default to viewer).")
        parser.add_argument("--name", default="", help="A label for the key, e.g. the client that will use it.")

    def handle(self, *args, username: str, role: str | None, name: str, **options) -> None:
        username = username.strip()
        if not username:
            raise CommandError("USERNAME can't be empty.")
        if len(name) > ApiKey._meta.get_field("name").max_length:
            raise CommandError("--name is too long (at most 100 characters).")
        user_model = get_user_model()
        with transaction.atomic():
            user, created = user_model.objects.get_or_create(username=username,
                                                             defaults={"role": role or Role.VIEWER})
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
                self.stderr.write(f"Created user {username} (role {user.role}).")
            elif role and user.role != role:
                user.role = role
                user.save(update_fields=["role"])
                self.stderr.write(f"Set the role of {username} to {role}.")
            if not user.is_active:
                raise CommandError(f"User {username} is inactive; their keys would not authenticate.")
            _key, raw = ApiKey.issue(user, name=name)
        self.stdout.write(raw)
