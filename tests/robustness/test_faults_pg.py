"""Fault tests on PostgreSQL: what the ledger looks like after a request or transaction dies half-way.

- a client that disconnects mid-request, against the real app server (granian) serving the test database;
- a transfer whose backend is killed with pg_terminate_backend after it has started writing;
- a movement write that hits a statement timeout while another session holds the item's row lock.

Each must leave the ledger consistent (recount finds no drift, nothing half-written) and give the
caller a clear error: the service layer raises django.db's OperationalError / InterfaceError, and the
API answers 503 with Retry-After in the route family's own JSON envelope.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import InterfaceError, OperationalError, connection, transaction
from rest_framework.test import APIClient

from accounts.models import ApiKey, Role
from inventory import services
from inventory.models import (
    CostLayer,
    IdempotencyRecord,
    LayerConsumption,
    StockItem,
    StockMovement,
    StockTransfer,
)
from inventory.services.recount import recount
from tests.conftest import requires_postgres
from tests.factories import StockItemFactory, StockLocationFactory, UserFactory, VariantFactory
from tests.servers import app_server_command, database_url, free_port, running

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
# This suite's share of the ports (see docs/robustness.md): the app server under test takes the first free one.
SERVER_PORTS = range(8120, 8130)
WAIT = 20  # seconds: generous upper bounds for things that normally take milliseconds


# --- helpers ----------------------------------------------------------------------------------------


def ledger_snapshot() -> dict:
    """Everything a half-done write could leave behind."""
    return {
        "movements": StockMovement.objects.count(),
        "transfers": StockTransfer.objects.count(),
        "layers": list(CostLayer.objects.order_by("pk").values_list("pk", "quantity_remaining")),
        "consumptions": LayerConsumption.objects.count(),
        "items": list(StockItem.objects.order_by("pk").values_list("pk", "count_on_hand", "value_in_stock")),
        "idempotency": IdempotencyRecord.objects.count(),
    }


def assert_ledger_consistent() -> None:
    report = recount()
    assert report.drifts == [], report.drifts
    assert report.items_checked == StockItem.objects.count()


@contextlib.contextmanager
def lock_held_elsewhere(model, **where) -> Iterator[int]:
    """Another session holds a lock until the block ends: on the rows of `model` matching `where` (SELECT ...
    FOR UPDATE), or without `where` on the whole table in ACCESS EXCLUSIVE mode, as a migration would, which
    makes even plain reads wait. That session is a psycopg connection of its own to the test database (not
    Django's); yields its backend pid."""
    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        table = connection.ops.quote_name(model._meta.db_table)
        if where:
            column, value = next(iter(where.items()))
            rows = raw.execute(f"SELECT id FROM {table} WHERE {column} = %s FOR UPDATE", [value]).fetchall()
            assert rows, f"nothing to lock in {model.__name__} where {column}={value}"
        else:
            raw.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield raw.info.backend_pid
    finally:
        raw.rollback()
        raw.close()


@contextlib.contextmanager
def statement_timeout() -> Iterator[None]:
    """Django's connection on this thread (the one the test client serves requests on) cancels any statement
    that runs longer than 200 ms, until the block ends."""
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '200ms'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")


def wait_for_backend_blocked_by(blocker_pid: int) -> int:
    """The pid of the session waiting on a lock `blocker_pid` holds (polled from Django's autocommit
    connection, so every poll sees fresh activity)."""
    deadline = time.monotonic() + WAIT
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND %s = ANY(pg_blocking_pids(pid))",
                [blocker_pid],
            )
            row = cursor.fetchone()
            if row:
                return row[0]
            time.sleep(0.02)
    raise AssertionError("the write never blocked on the held lock")


def tables_written_by(pid: int) -> set[str]:
    """Tables in which backend `pid` has inserted or updated rows in its open transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = %s AND l.mode = 'RowExclusiveLock' AND c.relkind = 'r'",
            [pid],
        )
        return {name for (name,) in cursor.fetchall()}


def terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0] is True


class Worker(threading.Thread):
    """Runs `fn` in a thread with its own database connection, keeping its result or exception, and
    closes that connection at the end (it may be a dead one)."""

    def __init__(self, fn: Callable):
        super().__init__(daemon=True)
        self.fn = fn
        self.result = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as exc:  # handed to the test thread
            self.error = exc
        finally:
            # The backend may have been terminated: closing a dead connection may complain.
            with contextlib.suppress(Exception):
                connection.close()

    def finish(self) -> None:
        self.join(WAIT)
        assert not self.is_alive(), "the worker thread did not finish"


def api_client(role: str = Role.MANAGER) -> APIClient:
    client = APIClient()
    _key, raw = ApiKey.issue(UserFactory(role=role))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def fifo(settings):
    # The transfer test blocks the source's FIFO layer; pin the method whatever the environment says.
    settings.STOCKROOM_VALUATION = "fifo"


@pytest.fixture
def stocked():
    """Two locations; one variant with 10 received at MAIN (one FIFO layer) and an empty item at SHOP."""
    main = StockLocationFactory(code="MAIN")
    shop = StockLocationFactory(code="SHOP")
    variant = VariantFactory(sku="ROR-00011")
    source = StockItemFactory(stock_location=main, variant=variant, count_on_hand=10, value_per_unit=Decimal("4"))
    destination = StockItemFactory(stock_location=shop, variant=variant)
    assert source.pk < destination.pk  # locks are taken in pk order: the source first
    return {"main": main, "shop": shop, "variant": variant, "source": source, "destination": destination}


# --- (b) a transfer killed with pg_terminate_backend ---------------------------------------------------


def run_killed_mid_transfer(stocked, start_transfer: Callable) -> tuple[Worker, set[str]]:
    """Hold the source's FIFO layer so the transfer blocks after it has created the transfer and its
    transferred_out movement, kill the transfer's backend there, and return the finished worker and the
    tables the transfer had written to when it was killed."""
    with lock_held_elsewhere(CostLayer, stock_item_id=stocked["source"].pk) as blocker_pid:
        worker = Worker(start_transfer)
        worker.start()
        victim = wait_for_backend_blocked_by(blocker_pid)
        written = tables_written_by(victim)
        terminate(victim)
        worker.finish()
    return worker, written


@requires_postgres
def test_transfer_killed_mid_way_writes_nothing(stocked, fifo):
    before = ledger_snapshot()

    worker, written = run_killed_mid_transfer(
        stocked, lambda: services.transfer(stocked["main"], stocked["shop"], [(stocked["variant"], 3)])
    )

    # It really was half-way: the transfer record and its outgoing movement were already written.
    assert {StockTransfer._meta.db_table, StockMovement._meta.db_table} <= written
    # The caller gets the database's error, not a result.
    assert worker.result is None
    assert isinstance(worker.error, OperationalError | InterfaceError), repr(worker.error)
    # Neither leg, no transfer record, no layer touched: the rollback was whole.
    assert ledger_snapshot() == before
    assert_ledger_consistent()
    # And the ledger still works: the same transfer goes through afterwards.
    services.transfer(stocked["main"], stocked["shop"], [(stocked["variant"], 3)])
    assert StockMovement.objects.filter(transfer__isnull=False).count() == 2
    assert_ledger_consistent()


@requires_postgres
def test_transfer_killed_mid_way_through_the_api_is_a_503_in_the_warehouse_envelope(stocked, fifo):
    client = api_client(Role.MANAGER)
    before = ledger_snapshot()
    body = {"product_id": stocked["variant"].pk, "warehouse_id": stocked["main"].pk, "movement_type": "transfer",
            "quantity": 3, "destination_warehouse_id": stocked["shop"].pk}

    worker, written = run_killed_mid_transfer(
        stocked, lambda: client.post("/api/v1/inventory/movements", body, format="json")
    )

    assert worker.error is None, repr(worker.error)
    response = worker.result
    assert StockMovement._meta.db_table in written
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "1"
    payload = response.json()
    assert set(payload) == {"error", "details"}
    assert "try again" in payload["error"]
    assert payload["details"] == {"retry_after": 1}
    assert ledger_snapshot() == before
    assert_ledger_consistent()

    # The client does what Retry-After says: the same request now succeeds, once.
    retry = client.post("/api/v1/inventory/movements", body, format="json")
    assert retry.status_code == 201, retry.content
    assert StockMovement.objects.filter(transfer__isnull=False).count() == 2
    assert_ledger_consistent()


# --- (c) a statement timeout on a movement write ------------------------------------------------------


@requires_postgres
def test_statement_timeout_on_a_movement_write_writes_nothing(stocked):
    item = stocked["source"]
    before = ledger_snapshot()
    with (lock_held_elsewhere(StockItem, id=item.pk), statement_timeout(),
          pytest.raises(OperationalError, match="statement timeout"), transaction.atomic()):
        services.receive(item.pk, 5, value_per_unit=Decimal("5"))

    assert ledger_snapshot() == before
    assert_ledger_consistent()
    # The connection is usable and the item writable once the lock is gone.
    services.receive(item.pk, 5, value_per_unit=Decimal("5"))
    assert StockItem.objects.get(pk=item.pk).count_on_hand == 15
    assert_ledger_consistent()


def spree_receipt(stocked) -> tuple[APIClient, str, dict]:
    """A manager's client, the Spree movements URL of MAIN and the body of a receipt of 5 on its item."""
    url = f"/api/v1/stock_locations/{stocked['main'].pk}/stock_movements"
    body = {"stock_movement": {"stock_item_id": stocked["source"].pk, "quantity": 5, "action": "received"}}
    return api_client(Role.MANAGER), url, body


@requires_postgres
def test_statement_timeout_through_the_spree_api_is_a_503_in_the_spree_envelope(stocked):
    item = stocked["source"]
    client, url, body = spree_receipt(stocked)
    before = ledger_snapshot()
    with lock_held_elsewhere(StockItem, id=item.pk), statement_timeout():
        response = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="timeout-1")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "1"
    assert set(response.json()) == {"error"}
    # Nothing written, not even the idempotency record: a retry with the same key really runs.
    assert ledger_snapshot() == before
    assert_ledger_consistent()

    retry = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="timeout-1")
    assert retry.status_code == 201, retry.content
    assert StockItem.objects.get(pk=item.pk).count_on_hand == 15
    assert_ledger_consistent()


def server_setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT setting FROM pg_settings WHERE name = %s", [name])
        return cursor.fetchone()[0]


@requires_postgres
def test_request_serving_connections_carry_the_configured_timeouts(settings):
    assert server_setting("lock_timeout") == str(settings.DB_LOCK_TIMEOUT_MS)
    assert server_setting("statement_timeout") == str(settings.DB_STATEMENT_TIMEOUT_MS)


@requires_postgres
def test_management_commands_run_without_the_timeouts():
    script = ("from django.db import connection\n"
              "with connection.cursor() as c:\n"
              "    c.execute(\"SELECT current_setting('lock_timeout'), current_setting('statement_timeout')\")\n"
              "    print(*c.fetchone())")
    env = {**os.environ, "DATABASE_URL": database_url(), "DB_LOCK_TIMEOUT_MS": "1234",
           "DB_STATEMENT_TIMEOUT_MS": "5678"}
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].split() == ["0", "0"]


@requires_postgres
def test_a_post_behind_a_held_row_lock_is_a_503_after_the_lock_timeout(stocked):
    """The lock timeout comes from the connection's OPTIONS (DB_LOCK_TIMEOUT_MS), made small here."""
    item = stocked["source"]
    client, url, body = spree_receipt(stocked)
    client.get(f"/api/v1/stock_locations/{stocked['main'].pk}")  # authenticated once: the key is cached
    before = ledger_snapshot()
    options = connection.settings_dict.setdefault("OPTIONS", {})
    configured = options.get("options")
    try:
        with lock_held_elsewhere(StockItem, id=item.pk):
            connection.close()
            options["options"] = "-c lock_timeout=200"
            started = time.monotonic()
            response = client.post(url, body, format="json")
            waited = time.monotonic() - started
            assert server_setting("lock_timeout") == "200"
    finally:
        connection.close()
        if configured is None:
            del options["options"]
        else:
            options["options"] = configured
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "1"
    assert set(response.json()) == {"error"}
    assert waited < WAIT  # it gave up instead of waiting for the holder
    assert ledger_snapshot() == before
    assert_ledger_consistent()


@requires_postgres
def test_statement_timeout_on_the_ledger_feed_is_a_503_in_the_katana_envelope(stocked):
    """Reads are not spared a timeout either: the feed answers Katana's envelope, not HTML or a 500."""
    client = api_client(Role.VIEWER)
    with lock_held_elsewhere(StockMovement), statement_timeout():
        response = client.get("/api/v1/inventory_movements")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    payload = response.json()
    assert payload["statusCode"] == 503
    assert payload["name"] == "ServiceUnavailableError"


# --- (a) a client that disconnects mid-request, against the app server ---------------------------------------


@pytest.fixture
def app_server(tmp_path):
    """The app server (one worker, one thread, so requests are served one after another) on the test database."""
    port = free_port(SERVER_PORTS)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECRET_KEY": "fault-test-only",
        "DEBUG": "0",
        "DB_CONN_MAX_AGE": "0",
        "STOCKROOM_THROTTLE_RATE": "100000/min",
        "PYTHONPATH": str(ROOT),
    }
    with running(app_server_command(port, threads=1), port=port, env=env, log=tmp_path / "app_server.log"):
        yield port


def http_request(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict,
                                                                                                          bytes]:
    """One complete HTTP/1.1 exchange on a fresh socket: (status, headers, body)."""
    head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": "127.0.0.1", "Connection": "close",
                                                 "Content-Length": str(len(body)), **headers}.items())
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\n{head}\r\n".encode() + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    raw_head, _, payload = data.partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    parsed = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, parsed, payload


def send_and_hang_up(port: int, request: bytes, abort: bool) -> None:
    """Send `request` (possibly cut short) and close the socket without reading the answer; with `abort`,
    reset the connection (RST) instead of closing it politely (FIN)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    try:
        sock.sendall(request)
        if abort:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    finally:
        sock.close()


@pytest.fixture
def movement_request(stocked):
    """A Spree movement POST of 5 received to the MAIN item, as raw bytes, and what a client needs."""
    _key, raw = ApiKey.issue(UserFactory(role=Role.MANAGER))
    path = f"/api/v1/stock_locations/{stocked['main'].pk}/stock_movements"
    body = json.dumps({"stock_movement": {"stock_item_id": stocked["source"].pk, "quantity": 5,
                                          "action": "received"}}).encode()
    headers = {"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}

    def build(declared_length: int, extra: dict | None = None) -> bytes:
        head = {"Host": "127.0.0.1", **headers, **(extra or {}), "Content-Length": str(declared_length)}
        return f"POST {path} HTTP/1.1\r\n".encode() + "".join(f"{k}: {v}\r\n" for k, v in head.items()).encode()

    return {"path": path, "body": body, "headers": headers, "build": build, "item": stocked["source"]}


def wait_until_served(port: int, headers: dict) -> None:
    """One sync worker serves requests in order: once a later request is answered, the one before it
    has been handled completely."""
    status, _, _ = http_request(port, "GET", "/api/v1/stock_locations", {"Authorization": headers["Authorization"]})
    assert status == 200


@requires_postgres
@pytest.mark.parametrize("abort", [False, True], ids=["fin", "rst"])
@pytest.mark.parametrize("cut", ["in_headers", "after_headers", "in_body"])
def test_client_gone_before_the_body_arrived_writes_nothing(app_server, movement_request, cut, abort):
    port, req = app_server, movement_request
    before = ledger_snapshot()
    head = req["build"](len(req["body"]))
    if cut == "in_headers":
        request = head[: len(head) // 2]
    elif cut == "after_headers":
        request = head + b"\r\n"
    else:
        request = head + b"\r\n" + req["body"][: len(req["body"]) // 2]

    send_and_hang_up(port, request, abort)
    wait_until_served(port, req["headers"])

    assert ledger_snapshot() == before
    assert_ledger_consistent()


@requires_postgres
def test_body_shorter_than_its_content_length_writes_nothing(app_server, movement_request):
    """The whole body arrives, but Content-Length promised more, and the client then hangs up."""
    port, req = app_server, movement_request
    before = ledger_snapshot()

    send_and_hang_up(port, req["build"](len(req["body"]) + 100) + b"\r\n" + req["body"], abort=False)
    wait_until_served(port, req["headers"])

    assert ledger_snapshot() == before
    assert_ledger_consistent()


@requires_postgres
def test_body_shorter_than_its_content_length_is_answered_400_in_the_spree_envelope(app_server,
                                                                                   movement_request):
    """A client that half-closes (sends FIN, still reads) after too short a body hears why it was refused."""
    port, req = app_server, movement_request
    before = ledger_snapshot()
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(req["build"](len(req["body"]) + 100, {"Connection": "close"}) + b"\r\n" + req["body"])
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split()[1] == b"400", answer
    assert json.loads(payload) == {"error": "The request body ended before the length it announced."}
    assert ledger_snapshot() == before
    assert_ledger_consistent()


@requires_postgres
def test_client_gone_before_reading_the_answer_gets_exactly_one_movement_on_retry(app_server, movement_request):
    """A complete request is a complete write even if nobody reads the answer; the client, not knowing,
    retries with the same Idempotency-Key and gets the first answer: one movement, no duplicate."""
    port, req = app_server, movement_request
    before = ledger_snapshot()
    key = {"Idempotency-Key": "disconnect-then-retry"}

    # FIN, not RST: a reset may make the kernel drop the request before the server reads it.
    send_and_hang_up(port, req["build"](len(req["body"]), key) + b"\r\n" + req["body"], abort=False)
    wait_until_served(port, req["headers"])
    # granian may take the GET's connection before the one the client left: give the write a moment.
    deadline = time.monotonic() + WAIT
    while StockMovement.objects.count() == before["movements"] and time.monotonic() < deadline:
        time.sleep(0.01)

    assert StockMovement.objects.count() == before["movements"] + 1
    assert StockItem.objects.get(pk=req["item"].pk).count_on_hand == 15
    assert_ledger_consistent()

    status, headers, payload = http_request(port, "POST", req["path"], {**req["headers"], **key}, req["body"])
    assert status == 201, payload
    assert headers.get("idempotent-replayed") == "true"
    assert StockMovement.objects.count() == before["movements"] + 1
    assert StockItem.objects.get(pk=req["item"].pk).count_on_hand == 15
    assert_ledger_consistent()
