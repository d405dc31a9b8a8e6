"""`create_api_key USERNAME [--role] [--name]`: prints the key alone; only its hash is stored."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiKey, Role, User, hash_key
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def create_key(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_only_the_key_which_authenticates_and_is_stored_hashed():
    out, _ = create_key("robot", "--role", "manager", "--name", "ci")
    raw = out.strip()
    assert out == raw + "\n" and " " not in raw and len(raw) >= 32
    key = ApiKey.lookup(raw)
    assert key is not None and (key.user.username, key.user.role, key.name) == ("robot", Role.MANAGER, "ci")
    assert key.hashed_key == hash_key(raw) and key.prefix == raw[:8]
    stored = ApiKey.objects.values_list("hashed_key", "prefix", "name").get()
    assert raw not in "".join(stored)
    assert not User.objects.get(username="robot").has_usable_password()


def test_new_user_defaults_to_viewer():
    out, err = create_key("reader")
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
        create_key("x", "--role", "owner")
    assert not User.objects.filter(username="x").exists()


def test_inactive_user_gets_no_key():
    UserFactory(username="gone", is_active=False)
    with pytest.raises(CommandError):
        create_key("gone")
    assert not ApiKey.objects.exists()
