"""API key lookups are cached for a few seconds; any change to a key or its user drops the entry at once."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.admin import UserAdmin
from accounts.models import ApiKey, Role, User
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db

LOCATIONS = "/api/v1/stock_locations"


def key_queries(client) -> list[str]:
    """The statements of one GET that read or write the API key table."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(LOCATIONS)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries if "accounts_apikey" in q["sql"]]


def test_a_cached_key_costs_no_query(manager_client):
    assert key_queries(manager_client)  # the first request reads the key and stamps last_used
    assert key_queries(manager_client) == []
    assert key_queries(manager_client) == []


def test_a_hit_returns_the_same_key_and_user():
    user = UserFactory(role=Role.MANAGER, first_name="Ada", last_name="Lovelace")
    key = ApiKeyFactory(user=user)
    ApiKey.for_request(key.raw)
    with CaptureQueriesContext(connection) as ctx:
        cached = ApiKey.for_request(key.raw)
    assert ctx.captured_queries == []
    assert (cached.pk, cached.user.pk, cached.user.role, cached.user.display_name) == (
        key.pk, user.pk, Role.MANAGER, "Ada Lovelace")
    assert cached.user.has_role(Role.MANAGER) and not cached.user.has_role(Role.ADMIN)
    # The password hash is not cached; reading it loads it from the database.
    assert cached.user.password == User.objects.get(pk=user.pk).password


def test_a_cache_of_zero_seconds_reads_the_key_every_time(settings):
    settings.STOCKROOM_API_KEY_CACHE_SECONDS = 0
    key = ApiKeyFactory(user=UserFactory())
    ApiKey.for_request(key.raw)
    with CaptureQueriesContext(connection) as ctx:
        assert ApiKey.for_request(key.raw).pk == key.pk
    assert len(ctx.captured_queries) == 1


@pytest.mark.parametrize("change", [
    lambda key: key.revoke(),
    lambda key: ApiKey.objects.filter(pk=key.pk).revoke(),
    lambda key: ApiKey.objects.get(pk=key.pk).delete(),
    lambda key: ApiKey.objects.filter(pk=key.pk).delete(),
], ids=["revoke", "revoke-queryset", "delete", "delete-queryset"])
def test_a_revoked_or_deleted_key_is_refused_at_once(manager_client, change):
    key_queries(manager_client)
    change(manager_client.api_key)
    assert manager_client.get(LOCATIONS).status_code == 401


def test_a_key_revoked_in_the_admin_form_is_refused_at_once(manager_client):
    key_queries(manager_client)
    key = ApiKey.objects.get(pk=manager_client.api_key.pk)
    key.revoked = True
    key.save()  # what the admin's change form does
    assert manager_client.get(LOCATIONS).status_code == 401


def test_a_deactivated_user_is_refused_at_once(manager_client):
    key_queries(manager_client)
    user = User.objects.get(pk=manager_client.user.pk)
    user.is_active = False
    user.save()
    assert manager_client.get(LOCATIONS).status_code == 401


def test_a_lowered_role_counts_at_once(manager_client):
    body = {"stock_location": {"name": "North"}}
    key_queries(manager_client)
    user = User.objects.get(pk=manager_client.user.pk)
    user.role = Role.ADMIN
    user.save(update_fields=["role"])
    assert manager_client.post(LOCATIONS, body, format="json").status_code == 201
    user.role = Role.VIEWER
    user.save(update_fields=["role"])
    assert manager_client.post(LOCATIONS, body, format="json").status_code == 403


@pytest.mark.parametrize("delete", [
    lambda user: user.delete(),
    lambda user: UserAdmin(User, None).delete_queryset(None, User.objects.filter(pk=user.pk)),
], ids=["delete", "admin-bulk-delete"])
def test_a_deleted_user_is_refused_at_once(manager_client, delete):
    key_queries(manager_client)
    delete(User.objects.get(pk=manager_client.user.pk))
    assert manager_client.get(LOCATIONS).status_code == 401


def test_last_used_is_still_written_at_most_once_a_minute(manager_client):
    key = manager_client.api_key
    key_queries(manager_client)
    first = ApiKey.objects.get(pk=key.pk).last_used
    assert first is not None
    assert not [sql for sql in key_queries(manager_client) if sql.startswith("UPDATE")]
    # A minute later (stamp moved back by hand) the next request writes it again, cache or not.
    ApiKey.objects.filter(pk=key.pk).update(last_used=first - timedelta(minutes=2))
    manager_client.get(LOCATIONS)
    assert ApiKey.objects.get(pk=key.pk).last_used > timezone.now() - timedelta(minutes=1)
