"""The live server the browser tests drive answers requests that arrive together without locking up.

On SQLite the test database lives in memory and the live server's threads share the test's one connection.
Requests using it at once (the dashboard's TruncDate query, a Python function called from inside SQLite,
beside admin pages) locked the whole process up: every request thread waited inside the sqlite3 driver's
execute. The browser sends such pairs (the dashboard's data is still being computed when the next page is
asked for): CI ran out of time in the dashboard's browser test. tests/live_server.py serves one request at
a time where the connection is shared; before it, this test locked up every time it ran after the browser
tests.

A watchdog ends the process with every thread's stack if the requests do not finish: a lock-up fails
loudly here rather than eating CI's time budget.
"""

from __future__ import annotations

import faulthandler
import sys
import threading
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory import services
from tests.factories import StockItemFactory, UserFactory

WATCHDOG_SECONDS = 60
ROUNDS = 12


def _staff_cookie(client) -> str:
    client.force_login(UserFactory(username="live-staff", is_staff=True, is_superuser=True))
    return f"sessionid={client.cookies['sessionid'].value}"


def _fetch(url: str, cookie: str, results: list) -> None:
    request = urllib.request.Request(url, headers={"Cookie": cookie, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            results.append(response.status)
    except Exception as exc:  # noqa: BLE001 - the assertion below reports what went wrong
        results.append(repr(exc))


@pytest.mark.django_db(transaction=True)
def test_requests_arriving_together_all_get_answers(live_server, client, capsys):
    item = StockItemFactory()
    services.receive(item, 10_000, value_per_unit="1.00", movement_date=timezone.now() - timedelta(days=300))
    for day in range(299, 0, -1):
        services.sell(item, 3, movement_date=timezone.now() - timedelta(days=day))
    cookie = _staff_cookie(client)
    urls = [f"{live_server.url}/dashboard/data.json?days=365",
            f"{live_server.url}/admin/inventory/stockmovement/",
            f"{live_server.url}/dashboard/data.json?days=365",
            f"{live_server.url}/admin/inventory/stockitem/"]

    # Outside pytest's capture, so that the stacks reach the log if the watchdog fires. faulthandler has one
    # timer: this one stands in for pytest's faulthandler_timeout while the requests run.
    with capsys.disabled():
        faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True, file=sys.stderr)
        try:
            results: list = []
            for _ in range(ROUNDS):
                threads = [threading.Thread(target=_fetch, args=(url, cookie, results), daemon=True)
                           for url in urls]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
        finally:
            faulthandler.cancel_dump_traceback_later()

    assert results == [200] * (ROUNDS * len(urls))
