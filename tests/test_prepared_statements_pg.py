"""PostgreSQL connections bind parameters on the server and prepare the statements they repeat
(DB_PREPARE_THRESHOLD), which roughly halves the database CPU of a movement POST (bench/FINDINGS.md);
a statement made stale by a column type changed elsewhere (a migration) is prepared again, not failed
for the rest of the connection's life (config/postgresql)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from inventory import services
from inventory.models import StockItem, StockMovement
from tests.conftest import requires_postgres
from tests.factories import StockItemFactory, StockLocationFactory
from tests.servers import database_url

ROOT = Path(__file__).resolve().parent.parent

pytestmark = requires_postgres


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_a_repeated_write_runs_as_prepared_statements(settings):
    threshold = connection.connection.prepare_threshold
    assert threshold == int(settings.DB_PREPARE_THRESHOLD)
    item = StockItemFactory()
    for _ in range(threshold + 1):
        services.receive(item.pk, 2)
    prepared = prepared_statements()
    # The statement that locks the item and appends the movement is prepared with placeholders, not values.
    assert any("FOR UPDATE" in sql and "inventory_append_movement" in sql and "$1" in sql for sql in prepared), prepared
    assert StockItem.objects.get(pk=item.pk).count_on_hand == 2 * (threshold + 1)


def connection_threshold(value: str | None) -> str:
    script = ("from django.db import connection\n"
              "connection.ensure_connection()\n"
              "cursor = type(connection.connection.cursor())\n"
              "print(repr(connection.connection.prepare_threshold), f'{cursor.__module__}.{cursor.__name__}')")
    env = {**os.environ, "DATABASE_URL": database_url()}
    env.pop("DB_PREPARE_THRESHOLD", None)
    if value is not None:
        env["DB_PREPARE_THRESHOLD"] = value
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


def test_the_threshold_comes_from_the_environment_and_none_turns_preparing_off():
    cursor = "config.postgresql.base.ServerBindingCursor"  # binds server-side, survives stale statements
    assert connection_threshold(None) == f"5 {cursor}"
    assert connection_threshold("1") == f"1 {cursor}"
    # For a transaction-mode connection pooler that can't keep prepared statements.
    assert connection_threshold("none") == f"None {cursor}"


@contextmanager
def column_type_changed(table: str, column: str, new_type: str) -> Iterator[None]:
    """ALTER a column's type from another session (as a migration run elsewhere would), and back after."""
    with psycopg.connect(database_url(), autocommit=True) as other:
        old_type = other.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                                 "WHERE attrelid = %s::regclass AND attname = %s", [table, column]).fetchone()[0]
        alter = f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE {{}}'
        other.execute(alter.format(new_type))
        try:
            yield
        finally:
            other.execute(alter.format(old_type))


def prepare(client, method: str, url: str, *args, **kwargs) -> None:
    for _ in range(connection.connection.prepare_threshold + 1):
        response = getattr(client, method)(url, *args, **kwargs)
        assert response.status_code in (200, 201), response.content


@pytest.mark.django_db(transaction=True)
def test_a_read_prepared_before_a_column_changes_type_elsewhere_still_answers(make_client):
    client = make_client(Role.VIEWER)
    location = StockLocationFactory(name="Main hall")
    url = f"/api/v1/stock_locations/{location.pk}"
    prepare(client, "get", url)
    assert any('FROM "inventory_stocklocation"' in sql for sql in prepared_statements())

    with column_type_changed("inventory_stocklocation", "name", "text"):
        # Read outside a transaction: prepared again and answered, not failed until the connection closes.
        response = client.get(url)
        assert response.status_code == 200, response.content
        assert response.json()["name"] == "Main hall"
    response = client.get(url)  # the type changed back: stale again
    assert response.status_code == 200, response.content


@pytest.mark.django_db(transaction=True)
def test_a_write_whose_prepared_lock_went_stale_is_a_503_and_the_retry_succeeds(make_client):
    client = make_client(Role.MANAGER)
    item = StockItemFactory()
    url = f"/api/v1/stock_locations/{item.stock_location_id}/stock_movements"
    # Dated: locked and valued by the service in a transaction (PostgreSQL appends plain ones alone, below).
    dated = (timezone.now() - timedelta(hours=1)).isoformat()
    body = {"stock_movement": {"stock_item_id": item.pk, "quantity": 1, "action": "received", "movement_date": dated}}
    prepare(client, "post", url, body, format="json")
    written = StockMovement.objects.count()

    with column_type_changed("inventory_stockitem", "reorder_point", "bigint"):
        # The lock is the transaction's first statement: the transaction is lost, and with its rollback
        # psycopg forgets the connection's prepared statements.
        refused = client.post(url, body, format="json")
        assert refused.status_code == 503, refused.content
        assert refused["Retry-After"] == "1"
        assert StockMovement.objects.count() == written
        retried = client.post(url, body, format="json")
        assert retried.status_code == 201, retried.content
    assert StockItem.objects.get(pk=item.pk).count_on_hand == written + 1


@pytest.mark.django_db(transaction=True)
def test_a_plain_append_whose_prepared_statement_went_stale_is_prepared_again(make_client):
    client = make_client(Role.MANAGER)
    item = StockItemFactory()
    url = f"/api/v1/stock_locations/{item.stock_location_id}/stock_movements"
    body = {"stock_movement": {"stock_item_id": item.pk, "quantity": 1, "action": "received"}}
    prepare(client, "post", url, body, format="json")

    with column_type_changed("inventory_stockitem", "reorder_point", "bigint"):
        # PostgreSQL appends it in one statement outside a transaction: prepared again and answered.
        response = client.post(url, body, format="json")
        assert response.status_code == 201, response.content
    assert StockItem.objects.get(pk=item.pk).count_on_hand == StockMovement.objects.count()
