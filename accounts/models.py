"""Users with a role, and hashed API keys."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.utils import timezone

from inventory.rawsql import instance


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

    def save(self, *args, **kwargs) -> None:
        created = self._state.adding
        super().save(*args, **kwargs)
        update_fields = kwargs.get("update_fields")
        if not created and (update_fields is None or not set(update_fields) <= UNCACHED_USER_FIELDS):
            forget_keys(key_hashes(self.api_keys.all()))  # a role or activity change counts at once

    def delete(self, *args, **kwargs):
        hashes = key_hashes(self.api_keys.all())
        done = super().delete(*args, **kwargs)
        forget_keys(hashes)
        return done


KEY_PREFIX_LENGTH = 8
LAST_USED_GRANULARITY = timedelta(minutes=1)


def hash_key(raw_key: str) -> str:
    # Keys are 32 random bytes, so a fast unsalted hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw_key.encode()).hexdigest()


# A cached key is served without a query for this long. A change to a key or its user deletes its entry: with
# REDIS_URL the cache is shared, so every process sees the change at once; without it only this process's
# entry goes, and other worker processes see the change within this many seconds (docs/api.md, shared rules).
def key_cache_seconds() -> int:
    return settings.STOCKROOM_API_KEY_CACHE_SECONDS


# The version names the cached entry's layout (the fields below): a new field is a new version, so processes
# of two releases sharing one Redis never read each other's entries.
KEY_CACHE_PREFIX = "stockroom:api-key:v2:"
# Saving only these never changes who a key authenticates as; the admin login stamps last_login.
UNCACHED_USER_FIELDS = {"password", "last_login"}


def key_hashes(keys: models.QuerySet) -> list[str]:
    return list(keys.values_list("hashed_key", flat=True)) if key_cache_seconds() else []


def forget_keys(hashes: list[str]) -> None:
    """Drop the cached lookups of these keys from the cache, now and again at commit: a
    request served between the change and its commit may have cached the old row meanwhile."""
    if hashes:
        names = [KEY_CACHE_PREFIX + h for h in hashes]
        cache.delete_many(names)
        transaction.on_commit(lambda: cache.delete_many(names))


def _cacheable_fields(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.attname not in UNCACHED_USER_FIELDS]


class ApiKeyQuerySet(models.QuerySet):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(models.Q(expires__isnull=True) | models.Q(expires__gt=timezone.now()),
                           revoked=False, user__is_active=True)

    def update(self, **kwargs) -> int:
        hashes = key_hashes(self)  # before: the update may take the keys out of this queryset
        done = super().update(**kwargs)
        forget_keys(hashes)
        return done

    def delete(self):
        hashes = key_hashes(self)
        done = super().delete()
        forget_keys(hashes)
        return done

    def revoke(self) -> int:
        return self.update(revoked=True)


class ApiKey(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=KEY_PREFIX_LENGTH, db_index=True, editable=False)
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(default=timezone.now, editable=False)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    expires = models.DateTimeField(null=True, blank=True, help_text="Refused from this time on; empty: never.")
    revoked = models.BooleanField(default=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user.username})"

    def save(self, *args, **kwargs) -> None:
        created = self._state.adding
        super().save(*args, **kwargs)
        if not created:
            forget_keys([self.hashed_key])  # the hash never changes (not editable)

    def delete(self, *args, **kwargs):
        done = super().delete(*args, **kwargs)
        forget_keys([self.hashed_key])
        return done

    @classmethod
    def issue(cls, user: User, name: str = "", expires: datetime | None = None) -> tuple[ApiKey, str]:
        """Create a key; the raw key is returned once and never stored."""
        raw = secrets.token_urlsafe(32)
        key = cls.objects.create(user=user, name=name, prefix=raw[:KEY_PREFIX_LENGTH], hashed_key=hash_key(raw),
                                 expires=expires)
        return key, raw

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires is not None and self.expires <= (now or timezone.now())

    @property
    def status(self) -> str:
        if self.revoked:
            return "revoked"
        return "expired" if self.is_expired() else "active"

    def revoke(self) -> None:
        self.revoked = True
        self.save(update_fields=["revoked"])

    @classmethod
    def lookup(cls, raw_key: str) -> ApiKey | None:
        """The active key `raw_key` with its user, or None (from the database)."""
        if not raw_key or len(raw_key) < KEY_PREFIX_LENGTH:
            return None
        hashed = hash_key(raw_key)
        candidate = (
            cls.objects.active()
            .select_related("user")
            .filter(prefix=raw_key[:KEY_PREFIX_LENGTH], hashed_key=hashed)
            .first()
        )
        if candidate is None or not secrets.compare_digest(candidate.hashed_key, hashed):
            return None
        return candidate

    @classmethod
    def for_request(cls, raw_key: str) -> ApiKey | None:
        """`lookup` for an API request, its use stamped on `last_used`. Served from the cache (Redis with
        REDIS_URL, else this process's) for STOCKROOM_API_KEY_CACHE_SECONDS: every request authenticates,
        most with the same few keys."""
        if not raw_key or len(raw_key) < KEY_PREFIX_LENGTH:
            return None
        seconds = key_cache_seconds()
        name = KEY_CACHE_PREFIX + hash_key(raw_key)
        if seconds and (cached := cache.get(name)) is not None:
            key = cls._from_cache(cached)
            if key.is_expired():
                return None
            key.stamp_use()  # at most once a minute; the write drops the entry, the next request re-reads it
            return key
        key = cls.lookup(raw_key)
        if key is not None:
            key.stamp_use()
            if seconds:
                cache.set(name, key._cache_entry(), seconds)  # expiry is checked on every hit
        return key

    def stamp_use(self) -> None:
        # Writing last_used on every request would make every read a write; a minute's precision is plenty.
        now = timezone.now()
        if self.last_used is None or now - self.last_used > LAST_USED_GRANULARITY:
            # ApiKeyQuerySet.update would read the hash this key already holds.
            super(ApiKeyQuerySet, ApiKey.objects.filter(pk=self.pk)).update(last_used=now)
            forget_keys([self.hashed_key])
            self.last_used = now

    def _cache_entry(self) -> tuple[tuple, tuple]:
        # Plain values, not the instances: the user's password hash stays out of the cache.
        return (tuple(getattr(self, name) for name in _cacheable_fields(ApiKey)),
                tuple(getattr(self.user, name) for name in _cacheable_fields(User)))

    @classmethod
    def _from_cache(cls, entry: tuple[tuple, tuple]) -> ApiKey:
        # from_db marks the left-out fields deferred: reading user.password loads it, saving skips it.
        key_values, user_values = entry
        key = instance(cls, DEFAULT_DB_ALIAS, _cacheable_fields(cls), key_values)
        key.user = instance(User, DEFAULT_DB_ALIAS, _cacheable_fields(User), user_values)
        return key
