"""The Redis the shared-state tests use: STOCKROOM_TEST_REDIS_URL (.ci/run starts one on 127.0.0.1:6379).

Its database is emptied by the tests (FLUSHDB), so it must be one nothing else uses."""

from __future__ import annotations

import os

import pytest

# DB 2: the two-server test's servers; DB 3: this process's cache in the in-process tests.
SERVERS_URL = os.environ.get("STOCKROOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/2")


def in_process_url() -> str:
    base, _, db = SERVERS_URL.rpartition("/")
    return f"{base}/{int(db or 0) + 1}"


def reachable_redis(url: str):
    """A client of `url`, emptied, or a skip saying why not."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis at {url} ({exc}); .ci/run starts one, or set STOCKROOM_TEST_REDIS_URL")
    client.flushdb()
    return client

