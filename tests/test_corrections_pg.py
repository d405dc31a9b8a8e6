"""Long corrections on PostgreSQL, against a ledger of tens of thousands of movements on one item:
- sales of the item that arrive while a backdated movement reposts its tail wait for the lock and succeed;
- a correction killed with SIGKILL half-way leaves nothing behind: its transaction never commits.
Afterwards `recount --deep` finds nothing in either case."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from inventory import services
from inventory.models import MovementFigures, StockItem, StockMovement
from inventory.services.recount import recount
from tests.conftest import requires_postgres
from tests.services.invariants import assert_invariants

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[1]
MOVEMENTS = 40_000  # over 365 days: a 300-day backdate reposts about 33,000 of them


@pytest.fixture
def deep_item() -> StockItem:
    call_command("bench_data", movements=MOVEMENTS, items=1, locations=1, prefix="DEEP", stdout=StringIO(),
                 stderr=StringIO())
    return StockItem.objects.get(stock_location__code__startswith="DEEP-")


def figures_checksum(item: StockItem) -> tuple:
    rows = MovementFigures.objects.filter(stock_item=item)
    return (rows.count(), sum(rows.values_list("balance_after", flat=True)),
            sum(rows.values_list("running_value", flat=True)))


def test_sales_during_a_long_backdate_wait_for_it_and_succeed(deep_item):
    item = deep_item
    stock = item.count_on_hand
    began, ended, sales = [], [], []
    errors: list[BaseException] = []

    def backdate() -> None:
        try:
            began.append(time.monotonic())
            services.receive(item.pk, 5, value_per_unit="3.00", movement_date=timezone.now() - timedelta(days=300))
            ended.append(time.monotonic())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def sell() -> None:
        try:
            started = time.monotonic()
            services.sell(item.pk, 1)
            sales.append((started, time.monotonic()))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    correction = threading.Thread(target=backdate)
    correction.start()
    while not began:
        time.sleep(0.01)
    time.sleep(0.2)  # the correction holds the item's lock by now
    sellers = [threading.Thread(target=sell) for _ in range(20)]
    for thread in sellers:
        thread.start()
    for thread in [correction, *sellers]:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(sales) == 20
    # The sales arrived while the correction ran, and finished after it (they waited for its lock).
    assert all(started < ended[0] for started, _ in sales), "the correction finished before the sales arrived"
    assert all(done >= ended[0] for _, done in sales)

    item = assert_invariants(item, check_recount=False)
    assert item.count_on_hand == stock + 5 - 20
    assert recount(deep=True).drifts == []


def test_a_correction_killed_half_way_leaves_nothing_behind(deep_item):
    item = deep_item
    before = (StockMovement.objects.count(), figures_checksum(item),
              StockItem.objects.values_list("count_on_hand", "value_in_stock", "running_value").get(pk=item.pk))
    database = connection.settings_dict["NAME"]
    env = {**os.environ, "DATABASE_URL": f"postgres://{connection.settings_dict['USER']}@"
                                         f"{connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}"
                                         f"/{database}"}
    command = [sys.executable, "manage.py", "correct", "backdate", "--sku", item.variant.sku, "--location",
               item.stock_location.code, "--action", "received", "--quantity", "5", "--date",
               (timezone.now() - timedelta(days=300)).isoformat()]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        backend = wait_for_writes(process.pid)
        time.sleep(0.3)  # well into the repost of its tail (about 33,000 movements)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    wait_until_gone(backend)

    after = (StockMovement.objects.count(), figures_checksum(item),
             StockItem.objects.values_list("count_on_hand", "value_in_stock", "running_value").get(pk=item.pk))
    assert after == before
    assert recount(deep=True).drifts == []


def wait_for_writes(pid: int) -> int:
    """The backend of process `pid`'s correction, once it has written part of the repost (its transaction
    holds a write lock on the figures table)."""
    deadline = time.monotonic() + 60
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid"
                " WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
                " AND l.relation = %s::regclass AND l.mode = 'RowExclusiveLock'",
                [MovementFigures._meta.db_table])
            row = cursor.fetchone()
            if row:
                return row[0]
            time.sleep(0.02)
    raise AssertionError(f"process {pid} never started writing")


def wait_until_gone(backend: int) -> None:
    deadline = time.monotonic() + 60
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend])
            if cursor.fetchone() is None:
                return
            time.sleep(0.05)
    raise AssertionError(f"backend {backend} still running a minute after its client was killed")
