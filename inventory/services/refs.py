"""How the services take what they act on: a model instance or its id, and the user who acts."""

from __future__ import annotations

from django.db import models


def pk_of(instance: models.Model | int | str) -> int:
    """The primary key of an instance, or the id given in its place."""
    return instance.pk if isinstance(instance, models.Model) else int(instance)


def acting_user(user):
    """The user to record as the author, or None for an anonymous or missing one."""
    return user if getattr(user, "is_authenticated", False) else None
