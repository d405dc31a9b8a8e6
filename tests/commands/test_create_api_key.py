"""`create_api_key USERNAME [--create-user] [--role] [--name] [--expires]`: prints the key alone; only its hash is
stored; an unknown user is refused unless --create-user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import ApiKey, Role, User, hash_key
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def create_key(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_only_the_key_which_authenticates_and_is_stored_hashed():
    out, _ = create_key("robot", "--create-user", "--role", "manager", "--name", "ci")
    raw = out.strip()
    assert out == raw + "\n" and " " not in raw and len(raw) >= 32
    key = ApiKey.lookup(raw)
    assert key is not None and (key.user.username, key.user.role, key.name) == ("robot", Role.MANAGER, "ci")
    assert key.hashed_key == hash_key(raw) and key.prefix == raw[:8]
    stored = ApiKey.objects.values_list("hashed_key", "prefix", "name").get()
    assert raw not in "".join(stored)
    assert not User.objects.get(username="robot").has_usable_password()


def test_new_user_defaults_to_viewer():
    out, err = create_key("reader", "--create-user")
    assert User.objects.get(username="reader").role == Role.VIEWER
    assert "Created user reader" in err and "Created" not in out


def test_existing_user_keeps_role_unless_given_and_gets_another_key():
    user = UserFactory(username="ana", role=Role.ADMIN)
    first, _ = create_key("ana")
    assert User.objects.get(pk=user.pk).role == Role.ADMIN
    second, _ = create_key("ana", "--role", "viewer")
    assert User.objects.get(pk=user.pk).role == Role.VIEWER
    assert first != second and ApiKey.objects.filter(user=user).count() == 2
    assert ApiKey.lookup(first.strip()).user == user


def test_invalid_role_is_refused():
    with pytest.raises(CommandError):
        create_key("x", "--create-user", "--role", "owner")
    assert not User.objects.filter(username="x").exists()


def test_inactive_user_gets_no_key():
    UserFactory(username="gone", is_active=False)
    with pytest.raises(CommandError):
        create_key("gone")
    assert not ApiKey.objects.exists()


def test_an_unknown_user_is_refused_without_create_user():
    UserFactory(username="anna")
    with pytest.raises(CommandError, match="No user 'ana'.*--create-user"):
        create_key("ana", "--role", "admin")
    assert not User.objects.filter(username="ana").exists() and not ApiKey.objects.exists()


@pytest.mark.parametrize(("text", "delta"), [("90d", timedelta(days=90)), ("12h", timedelta(hours=12)),
                                             ("30m", timedelta(minutes=30)), ("2w", timedelta(weeks=2))])
def test_expires_after_a_duration(text, delta):
    UserFactory(username="bot")
    before = timezone.now()
    out, err = create_key("bot", "--expires", text)
    key = ApiKey.objects.get()
    assert before + delta <= key.expires <= timezone.now() + delta
    assert f"Key {key.prefix} expires" in err and ApiKey.lookup(out.strip()) == key


def test_expires_on_a_date():
    UserFactory(username="bot")
    create_key("bot", "--expires", "2099-03-31")
    assert ApiKey.objects.get().expires == datetime(2099, 3, 31, tzinfo=UTC)


@pytest.mark.parametrize("text", ["90", "0d", "-3d", "soon", "2001-01-01", "2099-02-30", "99999999w"])
def test_a_bad_expiry_is_refused_and_issues_nothing(text):
    UserFactory(username="bot")
    with pytest.raises(CommandError, match="--expires"):
        create_key("bot", "--expires", text)
    assert not ApiKey.objects.exists()
