"""An API key with an expiry is refused from that moment on, cached or not."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ApiKey, Role

pytestmark = pytest.mark.django_db

LOCATIONS = "/api/v1/stock_locations"


def test_a_key_before_its_expiry_works(make_client):
    client = make_client(Role.VIEWER)
    ApiKey.objects.filter(pk=client.api_key.pk).update(expires=timezone.now() + timedelta(minutes=5))
    assert client.get(LOCATIONS).status_code == 200


def test_an_expired_key_is_refused(make_client):
    client = make_client(Role.VIEWER)
    ApiKey.objects.filter(pk=client.api_key.pk).update(expires=timezone.now() - timedelta(seconds=1))
    assert client.get(LOCATIONS).status_code == 401
    assert ApiKey.lookup(client.api_key.raw) is None


def test_a_cached_key_is_refused_once_it_expires(make_client, settings):
    settings.STOCKROOM_API_KEY_CACHE_SECONDS = 3600
    client = make_client(Role.VIEWER)
    ApiKey.objects.filter(pk=client.api_key.pk).update(expires=timezone.now() + timedelta(seconds=1))
    assert client.get(LOCATIONS).status_code == 200  # cached now, with its expiry
    time.sleep(1.1)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(LOCATIONS).status_code == 401
    assert not [q for q in ctx.captured_queries if "accounts_apikey" in q["sql"]]  # refused from the cache
