"""Rate limits kept in Django's cache: per API key for every request, per client address for failed
authentication. With REDIS_URL the cache is Redis, so every process and host counts against one limit.

Counting is a sliding window approximated from two fixed windows (this one and the one before, weighted by
how much of it still overlaps the sliding window): one atomic `incr` per request, so two servers racing on
one counter never let more through than the limit, and no window boundary doubles the burst as a plain
fixed window would. A counter the store cannot give (Redis down: django-redis answers None) lets the request
through, logged: a throttle must never turn an outage of its store into an outage of the API.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

logger = logging.getLogger("stockroom.throttles")

# One warning per process this often while the store is down, not one per request.
STORE_DOWN_LOG_EVERY = 10.0
_store_down_logged_at = -math.inf


def client_address(request) -> str:
    """REMOTE_ADDR, or with NUM_PROXIES (STOCKROOM_NUM_PROXIES) trusted proxies in front, the address the
    outermost of them put in X-Forwarded-For. Not DRF's get_ident: without NUM_PROXIES it takes the whole
    X-Forwarded-For a client sends, so a client could pick a new identity per request. The admin lockout
    uses this too (AXES_CLIENT_IP_CALLABLE)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = api_settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        addresses = [a.strip() for a in forwarded.split(",")]
        return addresses[-min(proxies, len(addresses))] or remote
    return remote


def _store_down(what: str, exc: Exception | None = None) -> None:
    global _store_down_logged_at
    now = time.monotonic()
    if now - _store_down_logged_at >= STORE_DOWN_LOG_EVERY:
        _store_down_logged_at = now
        logger.warning("throttle store unavailable: %s not counted, requests allowed (fail open)%s", what,
                       f": {exc}" if exc else "")


class SlidingWindow:
    """At most `limit` hits per `period` seconds for each identity, counted in the cache under `name`."""

    def __init__(self, name: str, limit: int, period: int) -> None:
        self.name, self.limit, self.period = name, limit, period

    def _key(self, ident: str, window: int) -> str:
        return f"throttle:{self.name}:{ident}:{window}"

    def hit(self, ident: str, *, now: float | None = None) -> float | None:
        """Count one hit; None if allowed (or the store is down), else the seconds to wait. A refused hit
        is not counted, so a client that keeps knocking gets in again as soon as the window allows."""
        now = time.time() if now is None else now
        window, into = divmod(now, self.period)
        window = int(window)
        current = self._key(ident, window)
        store = caches[DEFAULT_CACHE_ALIAS]  # once: each use of `cache` looks the thread's cache up again
        try:
            # Kept two periods: the next window weighs this one as its previous.
            store.add(current, 0, timeout=2 * self.period + 1)
            count = store.incr(current)
            previous = store.get(self._key(ident, window - 1), 0) or 0
        except ValueError:  # evicted between add and incr (local memory): start over at one
            store.set(current, 1, timeout=2 * self.period + 1)
            count, previous = 1, 0
        except Exception as exc:  # a store that raises rather than answering None (e.g. Django's RedisCache)
            _store_down(self.name, exc)
            return None
        if count is None:
            _store_down(self.name)
            return None
        elapsed = into / self.period
        if previous * (1 - elapsed) + count <= self.limit:
            return None
        with contextlib.suppress(Exception):  # the refusal stands; the counter merely stays one high
            store.decr(current)
        return self._wait(count - 1, previous, elapsed)

    def _wait(self, count: int, previous: int, elapsed: float) -> float:
        """Seconds until one more hit fits: the previous window's weight decays linearly to zero."""
        if count + 1 <= self.limit and previous:
            needed = 1 - (self.limit - count - 1) / previous
            return max((needed - elapsed) * self.period, 1.0)
        # This window is full: it becomes the previous one at its end, then decays in the next. The estimate
        # takes its hits as spread evenly; a client told to wait longer than a period would wait longer than
        # an exact sliding window asks, so the answer is at most one period (another 429 may follow).
        rest = (1 - elapsed) * self.period
        return min(max(rest + self.period * (1 - (self.limit - 1) / max(count, 1)), 1.0), self.period)


def parse_rate(rate: str) -> tuple[int, int]:
    return SimpleRateThrottle.parse_rate(None, rate)


# Set on a request whose hit was counted and allowed already: a view answering it after the movement lane
# (inventory/api/spree/fast_lane.py) lets it by without counting it twice.
COUNTED = "stockroom_throttle_counted"


def count_once(request) -> None:
    setattr(request, COUNTED, True)


class ApiKeyRateThrottle(BaseThrottle):
    """Per API key (or per session user, or per address for anonymous callers); rate `api_key` of
    DEFAULT_THROTTLE_RATES (STOCKROOM_THROTTLE_RATE)."""

    scope = "api_key"
    THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES  # as DRF's: read when the class is made

    def __init__(self) -> None:
        limit, period = parse_rate(self.THROTTLE_RATES[self.scope])
        self.window = SlidingWindow(self.scope, limit, period)
        self._wait: float | None = None

    def identity(self, request) -> str:
        auth = getattr(request, "auth", None)
        if auth is not None and getattr(auth, "pk", None) is not None:
            return f"key:{auth.pk}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"ip:{client_address(request)}"

    def allow_request(self, request, view) -> bool:
        if getattr(request, COUNTED, False):
            self._wait = None  # allowed, and counted, before it reached this view (`count_once`)
            return True
        self._wait = self.window.hit(self.identity(request))
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


def failed_authentication(request) -> exceptions.Throttled | None:
    """Count a request refused for its credentials (a wrong key, no key) against its client address:
    a Throttled to answer instead once the address has failed more than STOCKROOM_AUTH_FAILURE_RATE."""
    limit, period = parse_rate(settings.STOCKROOM_AUTH_FAILURE_RATE)
    wait = SlidingWindow("auth_failure", limit, period).hit(client_address(request))
    return None if wait is None else exceptions.Throttled(wait=wait)
