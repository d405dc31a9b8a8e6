"""Admin login: an address that guesses too many wrong passwords is locked out (django-axes), in the
database without Redis and in Redis with it; a Redis that is gone never breaks the login page."""

from __future__ import annotations

import logging

import pytest
from axes.handlers.proxy import AxesProxyHandler

from config.cache import redis_caches
from tests.accounts.test_throttles import DEAD_REDIS
from tests.shared_redis import in_process_url, reachable_redis

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
DB_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
CACHE_HANDLER = "accounts.lockout.FailOpenAxesCacheHandler"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("clerk", password="right-pass-123", is_staff=True)


@pytest.fixture
def handler(settings):
    """use(name): switch axes to that handler (it keeps its implementation until told)."""

    def use(name: str) -> None:
        settings.AXES_HANDLER = name
        AxesProxyHandler.get_implementation(force=True)

    yield use
    settings.AXES_HANDLER = DB_HANDLER  # what settings.py picks without REDIS_URL
    AxesProxyHandler.get_implementation(force=True)


def login(client, password: str, address: str = "10.1.1.1"):
    return client.post(LOGIN, {"username": "clerk", "password": password, "next": "/admin/"}, REMOTE_ADDR=address)


def guesses_until_locked(client, settings) -> list[int]:
    settings.AXES_FAILURE_LIMIT = 5
    return [login(client, f"guess-{n}").status_code for n in range(6)]


def check_lockout(client, settings) -> None:
    assert guesses_until_locked(client, settings) == [200] * 4 + [429, 429]
    assert login(client, "right-pass-123").status_code == 429  # even the right password, from there
    assert login(client, "right-pass-123", address="10.2.2.2").status_code == 302  # another address logs in


def test_the_admin_login_locks_out_after_wrong_passwords(client, staff, settings, handler):
    handler(DB_HANDLER)
    check_lockout(client, settings)


def test_the_lockout_lives_in_redis_with_redis_url(client, staff, settings, handler):
    redis = reachable_redis(in_process_url())
    settings.CACHES = redis_caches(in_process_url())
    handler(CACHE_HANDLER)
    check_lockout(client, settings)
    assert redis.keys("*axes*")


def test_a_good_login_clears_the_failures(client, staff, settings, handler):
    handler(DB_HANDLER)
    settings.AXES_FAILURE_LIMIT = 3
    assert [login(client, "nope").status_code for _ in range(2)] == [200, 200]
    assert login(client, "right-pass-123").status_code == 302
    client.logout()
    assert [login(client, "nope").status_code for _ in range(2)] == [200, 200]


def test_a_gone_redis_leaves_the_login_working(client, staff, settings, handler, caplog):
    settings.CACHES = redis_caches(DEAD_REDIS)
    handler(CACHE_HANDLER)
    with caplog.at_level(logging.WARNING, logger="stockroom.lockout"):
        assert login(client, "nope").status_code == 200
    assert "login lockout store unavailable" in caplog.text
    assert login(client, "right-pass-123").status_code == 302
