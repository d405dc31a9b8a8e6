"""Two app servers, one database, one Redis (issue 14): app server processes of their own, sharing nothing but
PostgreSQL and REDIS_URL, keep one throttle limit, refuse a revoked key together at once, and answer an
idempotent retry sent to the other server with the first server's answer.

Needs PostgreSQL (the servers connect to this run's test database) and Redis at STOCKROOM_TEST_REDIS_URL
(default redis://127.0.0.1:6379/2, emptied by these tests; `.ci/run` starts Redis where absent). Servers
listen on STOCKROOM_TEST_PORTS ("8200,8201") or, without it, on two free ports.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.client import HTTPMessage
from pathlib import Path

import pytest
from django.db import connection

from accounts.models import ApiKey, Role, User
from config.cache import redis_caches
from inventory import services
from inventory.models import Action, StockMovement
from tests.conftest import requires_postgres
from tests.factories import ApiKeyFactory, StockItemFactory, StockLocationFactory, UserFactory, VariantFactory
from tests.servers import app_server_command, database_url, running
from tests.shared_redis import SERVERS_URL, reachable_redis

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
LOCATIONS = "/api/v1/stock_locations"
MOVEMENTS = "/api/v1/inventory/movements"
THROTTLE_LIMIT = 10
FAILURE_LIMIT = 6


def free_ports() -> list[int]:
    if configured := os.environ.get("STOCKROOM_TEST_PORTS"):
        return [int(p) for p in configured.split(",")][:2]
    ports, sockets = [], []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


def server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "STOCKROOM_", "REDIS_"))}
    env.update(
        DATABASE_URL=database_url(), REDIS_URL=SERVERS_URL, SECRET_KEY="two-servers-test", DEBUG="0",
        STOCKROOM_THROTTLE_RATE=f"{THROTTLE_LIMIT}/min", STOCKROOM_AUTH_FAILURE_RATE=f"{FAILURE_LIMIT}/min",
        # Far longer than the test: a key refused at once was dropped from the cache, not aged out of it.
        STOCKROOM_API_KEY_CACHE_SECONDS="300",
    )
    return env


def call(port: int, method: str, path: str, key: str | None = None, body: dict | None = None,
         **headers: str) -> tuple[int, HTTPMessage, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Accept", "application/json")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            # The headers as received (case-insensitive): the app server may send their names in lower case.
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker, tmp_path_factory):
    """Two app servers (one worker each) on this run's test database and SERVERS_URL; their ports."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: both servers must reach the test database")
    reachable_redis(SERVERS_URL)
    logs = tmp_path_factory.mktemp("servers")
    with contextlib.ExitStack() as stack:
        ports = free_ports()
        for port in ports:
            stack.enter_context(running(app_server_command(port), port=port, env=server_env(),
                                        log=logs / f"app-server-{port}.log",
                                        inherit=False))
        yield ports


@pytest.fixture
def redis(servers):
    """The servers' Redis, emptied: every test starts with no counters and no cached keys."""
    return reachable_redis(SERVERS_URL)


@pytest.fixture
def key(db) -> ApiKey:
    return ApiKeyFactory(user=UserFactory(role=Role.MANAGER))


def test_one_throttle_limit_across_both_servers(servers, redis, key):
    a, b = servers
    answers = [(port, call(port, "GET", LOCATIONS, key.raw)[0]) for _ in range(20) for port in (a, b)]
    statuses = [status for _, status in answers]
    assert statuses.count(200) == THROTTLE_LIMIT and statuses.count(429) == 40 - THROTTLE_LIMIT
    assert statuses[:THROTTLE_LIMIT] == [200] * THROTTLE_LIMIT  # the first ten, five on each server
    for port in servers:
        assert {status for p, status in answers if p == port} == {200, 429}
    refused = call(b, "GET", LOCATIONS, key.raw)
    assert refused[0] == 429 and 1 <= int(refused[1]["Retry-After"]) <= 60


def test_concurrent_requests_on_both_servers_keep_the_limit(servers, redis, key):
    statuses: list[int] = []
    lock = threading.Lock()

    def hammer(port: int) -> None:
        for _ in range(8):
            status = call(port, "GET", LOCATIONS, key.raw)[0]
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=hammer, args=(servers[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * THROTTLE_LIMIT + [429] * (48 - THROTTLE_LIMIT)


def test_failed_authentication_is_limited_across_both_servers(servers, redis):
    statuses = [call(port, "GET", LOCATIONS, "wrong-key-0123456789")[0] for _ in range(6) for port in servers]
    assert statuses == [401] * FAILURE_LIMIT + [429] * (12 - FAILURE_LIMIT)


def test_a_revoked_key_is_refused_by_both_within_a_second(servers, redis, key):
    assert [call(port, "GET", LOCATIONS, key.raw)[0] for port in servers] == [200, 200]
    assert redis.keys("*api-key*")  # the lookup is cached, shared, for 300 s
    env = {**server_env(), "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run([sys.executable, "manage.py", "revoke_api_key", key.prefix], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    revoked_at = time.monotonic()
    pending = set(servers)
    while pending and time.monotonic() - revoked_at < 1:
        pending = {port for port in pending if call(port, "GET", LOCATIONS, key.raw)[0] != 401}
    assert not pending, f"still accepted by the servers on ports {sorted(pending)} a second after revocation"


def test_a_deactivated_user_is_refused_by_both_at_once(servers, redis, key, settings):
    assert [call(port, "GET", LOCATIONS, key.raw)[0] for port in servers] == [200, 200]
    # This process saves the user as the admin would, with the servers' Redis as its cache.
    settings.CACHES = redis_caches(SERVERS_URL)
    user = User.objects.get(pk=key.user_id)
    user.is_active = False
    user.save()
    assert [call(port, "GET", LOCATIONS, key.raw)[0] for port in servers] == [401, 401]


@pytest.fixture
def item(db):
    stock_item = StockItemFactory(stock_location=StockLocationFactory(code="MAIN"),
                                  variant=VariantFactory(sku="BOLT-1"))
    services.receive(stock_item, 50)
    return stock_item


def sale(item, quantity: int = 2) -> dict:
    return {"product_id": item.variant_id, "warehouse_id": item.stock_location_id, "movement_type": "out",
            "quantity": quantity}


def sold() -> list[int]:
    return list(StockMovement.objects.filter(action=Action.SOLD).values_list("quantity", flat=True))


def test_an_idempotent_retry_is_answered_identically_by_the_other_server(servers, redis, key, item):
    a, b = servers
    first = call(a, "POST", MOVEMENTS, key.raw, sale(item), Idempotency_Key="sale-1")
    retry = call(b, "POST", MOVEMENTS, key.raw, sale(item), Idempotency_Key="sale-1")
    assert first[0] == retry[0] == 201
    assert retry[2] == first[2] and retry[1].get("Idempotent-Replayed") == "true"
    assert sold() == [-2]
    item.refresh_from_db()
    assert item.count_on_hand == 48
    # The same key with another body is refused by either server.
    assert call(a, "POST", MOVEMENTS, key.raw, sale(item, 3), Idempotency_Key="sale-1")[0] == 422


def test_an_idempotent_request_sent_to_both_at_once_writes_once(servers, redis, key, item):
    answers: dict[int, tuple] = {}
    start = threading.Barrier(2)

    def send(port: int) -> None:
        start.wait()
        answers[port] = call(port, "POST", MOVEMENTS, key.raw, sale(item), Idempotency_Key="sale-2")

    threads = [threading.Thread(target=send, args=(port,)) for port in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (status_a, _, body_a), (status_b, _, body_b) = answers.values()
    assert status_a == status_b == 201 and body_a == body_b
    assert sold() == [-2]
