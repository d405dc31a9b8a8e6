"""The API key admin shows each key's last use, expiry and status."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiKey
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_key_list_shows_last_use_expiry_and_status(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    used, unused = ApiKeyFactory(name="key-used"), ApiKeyFactory(name="key-unused")
    ApiKey.objects.filter(pk=used.pk).update(last_used=timezone.now() - timedelta(minutes=3))
    ApiKey.objects.filter(pk=unused.pk).update(expires=timezone.now() - timedelta(days=1))
    page = client.get("/admin/accounts/apikey/").content.decode()
    row = {name: page[page.index(name):].split("</tr>")[0] for name in ("key-used", "key-unused")}
    assert "3\xa0minutes ago" in row["key-used"] and ">active<" in row["key-used"]
    assert ">never<" in row["key-unused"] and ">expired<" in row["key-unused"]
    assert "last use" in page.lower()
