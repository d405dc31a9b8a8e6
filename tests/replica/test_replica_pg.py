"""Issue 14.3: with DATABASE_REPLICA_URL set, the read-only families read a real streaming replica (the one
`.ci/replica` makes with `pg_basebackup -R` on port 5433) and everything else the primary.

A real server (the app server, granian) runs on the test database with the replica configured. Replay on the replica is
paused to make the lag visible: what a client then sees is what it sees under replication lag."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection

from accounts.models import Role
from tests.conftest import requires_postgres
from tests.factories import ApiKeyFactory, StockItemFactory, StockLocationFactory, UserFactory, VariantFactory
from tests.servers import app_server_command, database_url, free_port, running

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

REPLICA_URL = os.environ.get("TEST_REPLICA_URL", "postgres://postgres@127.0.0.1:5433/postgres")
PORTS = range(8260, 8270)


def replica_or_skip() -> str:
    try:
        with psycopg.connect(REPLICA_URL, connect_timeout=3, autocommit=True) as replica:
            in_recovery, system = replica.execute(
                "SELECT pg_is_in_recovery(), system_identifier FROM pg_control_system()").fetchone()
    except psycopg.OperationalError as exc:
        pytest.skip(f"needs a streaming replica of the primary at {REPLICA_URL} (.ci/replica start): {exc}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT system_identifier FROM pg_control_system()")
        primary_system = cursor.fetchone()[0]
    if not in_recovery or system != primary_system:
        pytest.skip(f"{REPLICA_URL} is not a streaming replica of this primary")
    return REPLICA_URL


def replica_of_test_database() -> str:
    url = psycopg.conninfo.conninfo_to_dict(replica_or_skip())
    name = connection.settings_dict["NAME"]
    return f"postgres://{url.get('user', 'postgres')}@{url.get('host', '127.0.0.1')}:{url.get('port', 5433)}/{name}"


def caught_up(timeout: float = 30) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        target = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    with psycopg.connect(REPLICA_URL, autocommit=True) as replica:
        while not replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]:
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)


@contextmanager
def replay_paused():
    with psycopg.connect(REPLICA_URL, autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")


@pytest.fixture
def server(tmp_path):
    replica = replica_of_test_database()
    port = free_port(PORTS)
    env = {"DATABASE_URL": database_url(), "DATABASE_REPLICA_URL": replica, "SECRET_KEY": "replica-test-only",
           "DEBUG": "0", "DB_CONN_MAX_AGE": "60", "STOCKROOM_API_KEY_CACHE_SECONDS": "0",
           "STOCKROOM_THROTTLE_RATE": "100000/min"}
    with running(app_server_command(port), port=port, env=env, log=tmp_path / "app_server.log"):
        yield f"http://127.0.0.1:{port}"


def call(base: str, key: str, path: str, body: dict | None = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method="GET" if body is None else "POST",
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def ledger():
    location = StockLocationFactory(code="MAIN")
    variant = VariantFactory(sku="REP-1")
    item = StockItemFactory(stock_location=location, variant=variant, count_on_hand=10)
    viewer = ApiKeyFactory(user=UserFactory(role=Role.VIEWER)).raw
    manager = ApiKeyFactory(user=UserFactory(role=Role.MANAGER)).raw
    return {"location": location.pk, "variant": variant.pk, "item": item.pk, "viewer": viewer, "manager": manager}


def read_all(base: str, key: str, reads: dict[str, str]) -> dict[str, tuple[int, object]]:
    """Each routed read's answer, less the analytics period (it moves with the clock, not the data)."""
    answers = {name: call(base, key, path) for name, path in reads.items()}
    status, body = answers["analytics"]
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        body["data"].pop("period", None)
    return answers


def routed_reads(ledger: dict) -> dict[str, str]:
    loc, variant = ledger["location"], ledger["variant"]
    return {
        "ledger feed": f"/api/v1/inventory_movements?variant_ids={variant}",
        "product history": f"/api/v1/movements/product/{variant}?location_id={loc}",
        "levels list": f"/api/v1/inventory?warehouse_id={loc}",
        "analytics": f"/api/v1/inventory/analytics?warehouse_id={loc}",
    }


def test_under_lag_the_read_families_show_the_replica_and_spree_the_primary(server, ledger):
    reads = routed_reads(ledger)
    caught_up()
    before = read_all(server, ledger["viewer"], reads)
    assert all(status == 200 for status, _ in before.values()), before
    spree_item = f"/api/v1/stock_locations/{ledger['location']}/stock_items/{ledger['item']}"

    with replay_paused():
        # A write goes to the primary, and the Spree answer (read after the write, in its request) is fresh.
        status, movement = call(server, ledger["manager"], f"/api/v1/stock_locations/{ledger['location']}/"
                                "stock_movements", {"stock_movement": {"stock_item_id": ledger["item"],
                                                                       "quantity": 5, "action": "received"}})
        assert status == 201, movement
        assert movement["stock_item"]["count_on_hand"] == 15
        status, item = call(server, ledger["viewer"], spree_item)
        assert (status, item["count_on_hand"]) == (200, 15)  # Spree reads the primary

        # The routed families answer from the replica, which has not replayed the write yet.
        during = read_all(server, ledger["viewer"], reads)
        assert during == before

    caught_up()
    after = read_all(server, ledger["viewer"], reads)
    for name in reads:
        assert after[name][0] == 200
        assert after[name] != before[name], f"{name} did not change once the replica caught up"
    assert "15" in json.dumps(after["levels list"][1])


def test_a_key_revoked_on_the_primary_is_refused_at_once_whatever_the_lag(server, ledger):
    from accounts.models import ApiKey

    reads = routed_reads(ledger)
    caught_up()
    assert call(server, ledger["viewer"], reads["ledger feed"])[0] == 200
    with replay_paused():
        ApiKey.objects.get(user__role=Role.VIEWER).revoke()
        # Authentication runs before the handler is routed: it reads the primary.
        for path in reads.values():
            assert call(server, ledger["viewer"], path)[0] == 401


def test_without_a_replica_every_read_is_the_primarys(ledger):
    from django.conf import settings

    assert "replica" not in settings.DATABASES  # this test run: no DATABASE_REPLICA_URL
    from django.db import router

    from inventory.models import StockMovement

    assert router.db_for_read(StockMovement) == "default"
