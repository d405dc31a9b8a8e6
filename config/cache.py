"""Django's cache on Redis (REDIS_URL): the state every app process and host must share."""

from __future__ import annotations

import functools
import time

from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# After a failed call, calls fail at once for this long before Redis is tried again: a Redis that does not
# answer (a partition rather than a refused connection) would otherwise cost every cache call its timeout.
RETRY_AFTER_FAILURE = 5.0


def _guarded(method):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        if time.monotonic() < self.down_until:
            raise ConnectionInterrupted(connection=None) from RedisConnectionError(
                f"Redis failed less than {RETRY_AFTER_FAILURE:g} s ago; not tried again yet")
        try:
            return method(self, *args, **kwargs)
        except ConnectionInterrupted:
            self.down_until = time.monotonic() + RETRY_AFTER_FAILURE
            raise
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            self.down_until = time.monotonic() + RETRY_AFTER_FAILURE
            raise ConnectionInterrupted(connection=None) from exc

    return call


# Django's cache API, django-redis's TTL calls (axes `touch`es its counters) and what they call in turn.
GUARDED = ("get", "set", "add", "delete", "delete_many", "clear", "get_many", "set_many", "incr", "decr",
           "has_key", "incr_version", "touch", "ttl", "pttl", "expire", "pexpire", "expire_at", "pexpire_at",
           "persist")


class FailSoftClient(DefaultClient):
    """django-redis's client where every cache call turns a lost connection into ConnectionInterrupted, so
    IGNORE_EXCEPTIONS covers them all (django-redis leaves `touch` and the TTL calls unwrapped: a Redis gone
    made the admin login a 500), and where a failure makes the next RETRY_AFTER_FAILURE seconds of calls
    fail at once instead of each waiting for its timeout."""

    down_until = 0.0


for _name in GUARDED:
    setattr(FailSoftClient, _name, _guarded(getattr(DefaultClient, _name)))


def redis_caches(url: str) -> dict:
    """CACHES for Redis at `url`, through django-redis: IGNORE_EXCEPTIONS makes a Redis that is down or
    unreachable read as an empty cache (a miss, a failed write) instead of raising, so the API keeps serving;
    the short socket timeouts bound what each cache call can cost while it is gone."""
    return {"default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "stockroom",
        "OPTIONS": {"CLIENT_CLASS": "config.cache.FailSoftClient", "IGNORE_EXCEPTIONS": True,
                    "SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.5},
    }}
