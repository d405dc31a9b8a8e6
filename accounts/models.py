"""Users with a role, and hashed API keys."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 1, Role.MANAGER: 2, Role.ADMIN: 3}


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    def has_role(self, minimum: str) -> bool:
        """True when this user's role is at least `minimum` (superusers are admins)."""
        if self.is_superuser:
            return True
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[minimum]

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


KEY_PREFIX_LENGTH = 8


def hash_key(raw_key: str) -> str:
    # Keys are 32 random bytes, so a fast unsalted hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked=False, user__is_active=True)


class ApiKey(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=KEY_PREFIX_LENGTH, db_index=True, editable=False)
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(default=timezone.now, editable=False)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    revoked = models.BooleanField(default=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user.username})"

    @classmethod
    def issue(cls, user: User, name: str = "") -> tuple[ApiKey, str]:
        """Create a key; the raw key is returned once and never stored."""
        raw = secrets.token_urlsafe(32)
        key = cls.objects.create(user=user, name=name, prefix=raw[:KEY_PREFIX_LENGTH], hashed_key=hash_key(raw))
        return key, raw

    @classmethod
    def lookup(cls, raw_key: str) -> ApiKey | None:
        if not raw_key or len(raw_key) < KEY_PREFIX_LENGTH:
            return None
        candidate = (
            cls.objects.active()
            .select_related("user")
            .filter(prefix=raw_key[:KEY_PREFIX_LENGTH], hashed_key=hash_key(raw_key))
            .first()
        )
        if candidate is None or not secrets.compare_digest(candidate.hashed_key, hash_key(raw_key)):
            return None
        return candidate
