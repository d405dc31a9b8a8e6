"""`list_api_keys` and `revoke_api_key`: keys listed without their secret, revoked keys refused at once."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import ApiKey, Role
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db

LOCATIONS = "/api/v1/stock_locations"


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def lines(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()[1:]]


@pytest.fixture
def keys():
    ana, bob = UserFactory(username="ana", role=Role.MANAGER), UserFactory(username="bob")
    live = ApiKeyFactory(user=ana, name="shop")
    revoked = ApiKeyFactory(user=ana)
    revoked.revoke()
    expired = ApiKeyFactory(user=bob)
    ApiKey.objects.filter(pk=expired.pk).update(expires=timezone.now() - timedelta(seconds=1))
    later = ApiKeyFactory(user=bob)
    ApiKey.objects.filter(pk=later.pk).update(expires=timezone.now() + timedelta(days=3))
    return {"live": live, "revoked": revoked, "expired": expired, "later": later}


def test_list_shows_active_keys_without_their_secret(keys):
    out, err = run("list_api_keys")
    assert out.splitlines()[0].split()[:4] == ["ID", "PREFIX", "USER", "ROLE"]
    rows = lines(out)
    assert [(r[1], r[2], r[-1]) for r in rows] == [(keys["live"].prefix, "ana", "active"),
                                                    (keys["later"].prefix, "bob", "active")]
    assert rows[0][3:5] == ["manager", "shop"]
    assert all(k.raw not in out and k.hashed_key not in out for k in keys.values())
    assert err.strip() == "2 keys."


def test_list_all_and_by_user(keys):
    statuses = {r[1]: r[-1] for r in lines(run("list_api_keys", "--all")[0])}
    assert statuses == {keys["live"].prefix: "active", keys["revoked"].prefix: "revoked",
                        keys["expired"].prefix: "expired", keys["later"].prefix: "active"}
    assert {r[1] for r in lines(run("list_api_keys", "--user", "bob", "--all")[0])} == {
        keys["expired"].prefix, keys["later"].prefix}
    with pytest.raises(CommandError, match="No user 'carl'"):
        run("list_api_keys", "--user", "carl")


def test_list_shows_last_use(keys, client):
    client.get(LOCATIONS, HTTP_AUTHORIZATION=f"Bearer {keys['live'].raw}")
    row = next(r for r in lines(run("list_api_keys")[0]) if r[1] == keys["live"].prefix)
    assert row[7] == timezone.now().strftime("%Y-%m-%d")  # LAST USED's date (created is columns 5-6)


def test_revoke_by_prefix_is_refused_at_once_even_when_cached(make_client):
    client = make_client(Role.VIEWER)
    assert client.get(LOCATIONS).status_code == 200  # the key's lookup is cached now
    out, err = run("revoke_api_key", client.api_key.prefix)
    assert lines(out)[0][-1] == "revoked" and err.strip() == "Revoked 1 key."
    assert client.get(LOCATIONS).status_code == 401


def test_revoke_by_id_and_by_user(keys):
    run("revoke_api_key", str(keys["later"].pk))
    assert ApiKey.objects.get(pk=keys["later"].pk).revoked
    out, err = run("revoke_api_key", "--user", "ana")
    assert [r[1] for r in lines(out)] == [keys["live"].prefix] and err.strip() == "Revoked 1 key."
    assert not ApiKey.objects.active().exists()


def test_a_prefix_starting_with_a_dash_is_a_prefix_not_an_option(keys):
    ApiKey.objects.filter(pk=keys["live"].pk).update(prefix="-0NYF7jY")
    ApiKey.objects.filter(pk=keys["later"].pk).update(prefix="-v1abcde")  # -v is Django's verbosity
    _, err = run("revoke_api_key", "-0NYF7jY", "-v1abcde")
    assert err.strip() == "Revoked 2 keys."
    assert set(ApiKey.objects.filter(revoked=True).values_list("prefix", flat=True)) >= {"-0NYF7jY", "-v1abcde"}


def test_revoking_a_revoked_key_says_so(keys):
    _, err = run("revoke_api_key", keys["revoked"].prefix)
    assert err.strip() == "Revoked 0 keys (1 already revoked)."


def test_a_wrong_name_revokes_nothing(keys):
    with pytest.raises(CommandError, match="no key has the id or prefix 'nope'"):
        run("revoke_api_key", keys["live"].prefix, "nope")
    assert not ApiKey.objects.get(pk=keys["live"].pk).revoked


def test_a_shared_prefix_is_refused(keys):
    ApiKey.objects.filter(pk=keys["later"].pk).update(prefix=keys["live"].prefix)
    with pytest.raises(CommandError, match="names 2 keys .*give the id"):
        run("revoke_api_key", keys["live"].prefix)
    assert ApiKey.objects.filter(revoked=True).count() == 1


@pytest.mark.parametrize("args", [(), ("abc", "--user", "ana")])
def test_keys_or_user_exactly(keys, args):
    with pytest.raises(CommandError, match="not both"):
        run("revoke_api_key", *args)
