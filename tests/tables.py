"""The project's models, taken from the app registry, for tests that must cover every table: a model added
later is covered without editing them."""

from __future__ import annotations

from django.apps import apps
from django.db.models import Model


def project_models() -> list[type[Model]]:
    """Every model of the accounts and inventory apps (users and keys first, then inventory's)."""
    return [*apps.get_app_config("accounts").get_models(), *apps.get_app_config("inventory").get_models()]
