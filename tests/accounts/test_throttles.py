"""Throttles in the cache: the sliding window, failed authentication per client address, and failing open
when the store (Redis) is gone."""

from __future__ import annotations

import logging
import socket

import pytest
from django.core.cache import cache

from accounts.models import Role
from accounts.throttles import ApiKeyRateThrottle, SlidingWindow
from config.cache import redis_caches
from tests.shared_redis import in_process_url, reachable_redis

pytestmark = pytest.mark.django_db

LOCATIONS = "/api/v1/stock_locations"
# Nothing listens on port 1: connections are refused at once, as with a Redis that went away.
DEAD_REDIS = "redis://127.0.0.1:1/0"


def hits(window: SlidingWindow, times: list[float]) -> list[bool]:
    return [window.hit("me", now=t) is None for t in times]


def test_the_window_allows_the_limit_and_refuses_the_rest():
    window = SlidingWindow("t", 10, 60)
    assert hits(window, [30.0] * 12) == [True] * 10 + [False] * 2
    assert window.hit("other", now=30.0) is None  # per identity
    assert 1 <= window.hit("me", now=31.0) <= 60


def test_a_window_boundary_does_not_double_the_burst():
    window = SlidingWindow("t", 10, 60)
    assert all(hits(window, [59.0] * 10))
    # Just past the boundary the previous window still weighs 59/60 of its 10 hits: refused.
    assert hits(window, [61.0, 62.0]) == [False, False]
    # Near the end of the next window it weighs little: allowed again, up to the limit.
    assert hits(window, [114.0] * 10) == [True] * 9 + [False]


def test_refused_hits_are_not_counted():
    window = SlidingWindow("t", 2, 60)
    assert hits(window, [1.0] * 50) == [True, True] + [False] * 48
    assert hits(window, [61.0 + 59.0]) == [True]  # 2 * 1/60 + 1 <= 2


@pytest.fixture
def strict_failures(settings):
    settings.STOCKROOM_AUTH_FAILURE_RATE = "3/min"


def test_failed_authentication_is_throttled_per_address(strict_failures, make_client, anon_client):
    good = make_client(Role.VIEWER)
    bad = {"HTTP_AUTHORIZATION": "Bearer not-a-key-at-all"}
    assert [anon_client.get(LOCATIONS, **bad).status_code for _ in range(3)] == [401] * 3
    refused = anon_client.get(LOCATIONS, **bad)
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert anon_client.get(LOCATIONS).status_code == 429  # no key at all: a failure too
    # Another address still gets its 401; a good key from the throttled address still works.
    assert anon_client.get(LOCATIONS, REMOTE_ADDR="10.9.8.7", **bad).status_code == 401
    assert good.get(LOCATIONS).status_code == 200


def test_every_family_throttles_failed_authentication(strict_failures, anon_client):
    for url in ["/api/v1/stock_locations", "/api/v1/inventory", "/api/v1/inventory_movements", "/api/products/1"]:
        cache.clear()
        statuses = [anon_client.get(url).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429], url


def test_succeeding_requests_are_not_failures(strict_failures, make_client):
    client = make_client(Role.VIEWER)
    assert all(client.get(LOCATIONS).status_code == 200 for _ in range(10))


def test_proxies_are_trusted_only_when_configured(strict_failures, anon_client, settings):
    # Without STOCKROOM_NUM_PROXIES a client cannot dodge the limit by inventing X-Forwarded-For.
    statuses = [anon_client.get(LOCATIONS, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_when_the_store_is_gone_the_api_serves_and_logs(make_client, anon_client, settings, monkeypatch, caplog):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "1/min"})
    settings.STOCKROOM_AUTH_FAILURE_RATE = "1/min"
    client = make_client(Role.VIEWER)
    settings.CACHES = redis_caches(DEAD_REDIS)
    monkeypatch.setattr("accounts.throttles._store_down_logged_at", float("-inf"))
    with caplog.at_level(logging.WARNING, logger="stockroom.throttles"):
        assert [client.get(LOCATIONS).status_code for _ in range(3)] == [200] * 3  # fail open, no 500
        assert [anon_client.get(LOCATIONS, HTTP_AUTHORIZATION="Bearer wrong-key-123").status_code
                for _ in range(3)] == [401] * 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "stockroom.throttles"]
    assert warnings and "throttle store unavailable" in warnings[0] and "fail open" in warnings[0]
    assert len(warnings) == 1  # once per STORE_DOWN_LOG_EVERY seconds, not once per request


def test_a_revoked_key_is_refused_at_once_through_redis(make_client, settings):
    redis = reachable_redis(in_process_url())
    settings.CACHES = redis_caches(in_process_url())
    settings.STOCKROOM_API_KEY_CACHE_SECONDS = 3600
    client = make_client(Role.VIEWER)
    assert client.get(LOCATIONS).status_code == 200
    assert redis.keys("*api-key*") and redis.keys("*throttle:api_key*")  # both live in Redis
    client.api_key.revoke()
    assert not redis.keys("*api-key*")
    assert client.get(LOCATIONS).status_code == 401


def test_behind_proxies_the_forwarded_address_counts(strict_failures, anon_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # The balancer appends the address it saw; whatever the client put before it is ignored.
    def status(client_ip: str) -> int:
        return anon_client.get(LOCATIONS, HTTP_X_FORWARDED_FOR=f"6.6.6.6, {client_ip}").status_code

    assert [status("10.0.0.1") for _ in range(4)] == [401, 401, 401, 429]
    assert status("10.0.0.2") == 401



def test_after_a_failure_redis_is_left_alone_for_a_while(make_client, settings, monkeypatch):
    client = make_client(Role.VIEWER)
    settings.CACHES = redis_caches(DEAD_REDIS)
    attempts = []  # Redis connections tried (the database of the run is not reached through Python sockets)
    connect = socket.socket.connect
    monkeypatch.setattr(socket.socket, "connect",
                        lambda sock, address: attempts.append(address) or connect(sock, address))
    assert client.get(LOCATIONS).status_code == 200
    tried = len(attempts)
    assert tried >= 1
    assert [client.get(LOCATIONS).status_code for _ in range(5)] == [200] * 5
    assert len(attempts) == tried  # failed at once, without trying
    cache.client.down_until = 0.0  # RETRY_AFTER_FAILURE later
    assert client.get(LOCATIONS).status_code == 200
    assert len(attempts) > tried
