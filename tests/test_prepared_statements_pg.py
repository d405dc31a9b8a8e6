"""PostgreSQL connections bind parameters on the server and prepare the statements they repeat
(DB_PREPARE_THRESHOLD), which roughly halves the database CPU of a movement POST (bench/FINDINGS.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from inventory import services
from inventory.models import StockItem
from tests.conftest import requires_postgres
from tests.factories import StockItemFactory
from tests.robustness.test_faults_pg import served_database_url

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [requires_postgres, pytest.mark.django_db]


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_repeated_write_runs_as_prepared_statements(settings):
    threshold = connection.connection.prepare_threshold
    assert threshold == int(settings.DB_PREPARE_THRESHOLD)
    item = StockItemFactory()
    for _ in range(threshold + 1):
        services.receive(item.pk, 2)
    prepared = prepared_statements()
    # The lock of the item and the INSERT of the movement are prepared with placeholders, not values.
    assert any("FOR UPDATE" in sql and "$1" in sql for sql in prepared), prepared
    assert any(sql.startswith('INSERT INTO "inventory_stockmovement"') for sql in prepared), prepared
    assert StockItem.objects.get(pk=item.pk).count_on_hand == 2 * (threshold + 1)


def connection_threshold(value: str | None) -> str:
    script = ("from django.db import connection\n"
              "connection.ensure_connection()\n"
              "print(repr(connection.connection.prepare_threshold), type(connection.connection.cursor()).__name__)")
    env = {**os.environ, "DATABASE_URL": served_database_url()}
    env.pop("DB_PREPARE_THRESHOLD", None)
    if value is not None:
        env["DB_PREPARE_THRESHOLD"] = value
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


def test_the_threshold_comes_from_the_environment_and_none_turns_preparing_off():
    assert connection_threshold(None) == "5 ServerBindingCursor"
    assert connection_threshold("1") == "1 ServerBindingCursor"
    # For a transaction-mode connection pooler that can't keep prepared statements.
    assert connection_threshold("none") == "None ServerBindingCursor"
