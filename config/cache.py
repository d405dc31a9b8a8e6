"""Django's cache on Redis (REDIS_URL): the state every app process and host must share."""

from __future__ import annotations

import functools

from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


def _interrupted(method):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise ConnectionInterrupted(connection=None) from exc

    return call


class FailSoftClient(DefaultClient):
    """django-redis's client, with the calls it leaves unwrapped (touch, the TTL family) turning a lost
    connection into ConnectionInterrupted like the rest, so IGNORE_EXCEPTIONS covers every call: django-axes
    touches its counters, and a Redis gone must not make the admin login a 500."""

    touch = _interrupted(DefaultClient.touch)
    ttl = _interrupted(DefaultClient.ttl)
    pttl = _interrupted(DefaultClient.pttl)
    expire = _interrupted(DefaultClient.expire)
    pexpire = _interrupted(DefaultClient.pexpire)
    expire_at = _interrupted(DefaultClient.expire_at)
    pexpire_at = _interrupted(DefaultClient.pexpire_at)
    persist = _interrupted(DefaultClient.persist)


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
