"""Idempotency records expire (STOCKROOM_IDEMPOTENCY_TTL_HOURS) and `purge_idempotency` deletes them (issue 12.3)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Role
from inventory.models import IdempotencyRecord
from inventory.services.idempotency import purge_expired
from tests.factories import IdempotencyRecordFactory, StockItemFactory

pytestmark = pytest.mark.django_db


def aged(hours: float, **fields) -> IdempotencyRecord:
    record = IdempotencyRecordFactory(**fields)
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(hours=hours))
    return record


def keys() -> set[str]:
    return set(IdempotencyRecord.objects.values_list("key", flat=True))


def purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_idempotency", *args, stdout=out)
    return out.getvalue()


def test_purges_only_the_expired_records_in_batches():
    for n in range(5):
        aged(25 + n, key=f"old-{n}")
    aged(23, key="young")
    assert purge_expired(batch_size=2) == 5
    assert keys() == {"young"}


def test_command_dry_run_counts_and_deletes_nothing():
    aged(30, key="old")
    aged(1, key="new")
    assert purge("--dry-run") == "Would delete 1 idempotency record(s) older than 24 hours.\n"
    assert keys() == {"old", "new"}
    assert purge() == "Deleted 1 idempotency record(s) older than 24 hours.\n"
    assert keys() == {"new"}
    assert purge("-v0") == ""


def test_command_older_than_and_its_floor(settings):
    aged(50, key="old")
    aged(30, key="middle")
    purge("--older-than", "48")
    assert keys() == {"middle"}
    with pytest.raises(CommandError, match="at least the expiry, 24 hours") as refused:
        purge("--older-than", "2")
    assert refused.value.returncode == 2
    settings.STOCKROOM_IDEMPOTENCY_TTL_HOURS = 12
    purge()
    assert keys() == set()


def test_the_configured_expiry_decides_what_is_replayed(settings, make_client):
    client = make_client(Role.MANAGER)
    item = StockItemFactory(count_on_hand=5)
    url = f"/api/v1/stock_locations/{item.stock_location_id}/stock_movements"
    body = {"stock_movement": {"quantity": 1, "stock_item_id": item.pk, "action": "received"}}
    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=3))
    replay = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert (replay.status_code, replay["Idempotent-Replayed"], replay.json()["id"]) == (201, "true", first.json()["id"])
    settings.STOCKROOM_IDEMPOTENCY_TTL_HOURS = 2
    again = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert again.json()["id"] != first.json()["id"]
