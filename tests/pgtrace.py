"""What libpq sent to PostgreSQL while some code ran, from its protocol trace: for tests that count round
trips or look for a statement that must not be sent."""

from __future__ import annotations

import tempfile
from collections.abc import Callable

from django.db import connection
from psycopg import pq


def frontend_messages(run: Callable[[], object]) -> list[str]:
    """The frontend messages Django's connection sent during `run()`, one line each (direction, length, type,
    contents), in order."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as out:
        pgconn.trace(out.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            run()
        finally:
            pgconn.untrace()
        out.seek(0)
        return [line for line in out.read().splitlines() if "\tF\t" in line or line.startswith("F\t")]
