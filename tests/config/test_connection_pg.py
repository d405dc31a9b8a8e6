"""What config/postgresql changes in a connection's every request, and what it must keep: timestamps loaded in
C with the same values and time zone as Django's loader, and a health check that asks the server nothing while
its connection is fine but still replaces one the server has ended."""

from __future__ import annotations

import datetime
import time

import psycopg
import pytest
from django.db import connection
from psycopg import pq

from inventory import services
from inventory.models import StockMovement
from tests.conftest import requires_postgres
from tests.factories import StockItemFactory
from tests.pgtrace import frontend_messages
from tests.servers import database_url

pytestmark = requires_postgres


@pytest.mark.django_db
def test_timestamps_load_in_c_as_utc_datetimes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz, current_setting('TimeZone')",
                       ["2020-02-29 23:30:00.123456-05:30"])
        loaded, session_zone = cursor.fetchone()
        loader = cursor.cursor._tx.get_loader(1184, pq.Format.TEXT)  # timestamptz, as this cursor loads it
    assert session_zone == "UTC"
    assert loaded == datetime.datetime(2020, 3, 1, 5, 0, 0, 123456, tzinfo=datetime.UTC)
    assert loaded.tzinfo is datetime.UTC  # what Django's own loader gives
    assert type(loader) is psycopg.adapters.get_loader(1184, pq.Format.TEXT)  # psycopg's, not Django's subclass


@pytest.mark.django_db
def test_a_movement_reads_back_its_dates_through_the_orm():
    item = StockItemFactory()
    movement = services.receive(item.pk, 3)
    stored = StockMovement.objects.get(pk=movement.pk)
    assert stored.movement_date == movement.movement_date
    assert stored.created_at.tzinfo is datetime.UTC


@pytest.mark.django_db(transaction=True)
def test_a_healthy_connection_is_not_asked_select_1_at_a_request():
    connection.ensure_connection()

    def first_query():
        connection.health_check_done = False  # as at the start of every request (`close_if_unusable_or_obsolete`)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 2")

    assert connection.health_check_enabled
    assert not [m for m in frontend_messages(first_query) if "\tQuery\t" in m and "SELECT 1" in m]
    assert connection.health_check_done


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_ended_is_replaced_at_the_next_request():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        ended = cursor.fetchone()[0]
    with psycopg.connect(database_url(), autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [ended]).fetchone()[0] is True
        deadline = time.monotonic() + 10
        while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [ended]).fetchone():
            assert time.monotonic() < deadline, "the backend did not end"
            time.sleep(0.02)
    connection.health_check_done = False  # a new request
    with connection.cursor() as cursor:  # the health check finds it ended and connects again
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != ended
