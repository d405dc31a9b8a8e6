from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Role
from tests.factories import ApiKeyFactory, UserFactory
from tests.live_server import start_live_server

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (row locks, concurrent connections, its own SQL and settings); "
           "run with DATABASE_URL=postgres://...",
)


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, serving one request at a time where its threads share the test's
    SQLite connection (tests/live_server.py says why)."""
    server = start_live_server(request.config)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The production hasher is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_failed_auth_limit(settings):
    # Every test client is 127.0.0.1, and route-walking tests send hundreds of keyless requests; the limit's
    # own tests (tests/accounts/test_throttles.py) set it back.
    settings.STOCKROOM_AUTH_FAILURE_RATE = "1000000/min"


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters live in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_client(db):
    """make_client(role) -> APIClient sending a fresh API key of a user with that role (None: no key)."""

    def make(role: str | None = Role.ADMIN, header: str = "bearer") -> APIClient:
        client = APIClient()
        if role is None:
            return client
        key = ApiKeyFactory(user=UserFactory(role=role))
        if header == "bearer":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw}")
        else:
            client.credentials(HTTP_X_SPREE_TOKEN=key.raw)
        client.user = key.user
        client.api_key = key
        return client

    return make


@pytest.fixture
def admin_client_api(make_client) -> APIClient:
    return make_client(Role.ADMIN)


@pytest.fixture
def manager_client(make_client) -> APIClient:
    return make_client(Role.MANAGER)


@pytest.fixture
def viewer_client(make_client) -> APIClient:
    return make_client(Role.VIEWER)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()
