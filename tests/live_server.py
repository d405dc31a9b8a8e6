"""The live server for the browser tests: pytest-django's, made safe for SQLite's in-memory test database.

There the server's request threads all use the test's one connection (pytest-django hands it over), and
requests using it at once locked the process up for good: every request thread waited inside the sqlite3
driver's execute, for ever (the stacks tests/test_live_server.py prints). The dashboard's query (TruncDate,
one of Django's Python functions called from inside SQLite) and the next page the browser asks for are such
a pair; CI once spent its whole time budget there.

So where the connection is shared the server still accepts connections on many threads (browsers keep
several open, and a one-connection server stalls on their idle pre-connections) but runs one request at a
time, body included. On PostgreSQL each thread has its own connection and nothing changes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable

from django.test.testcases import ThreadedWSGIServer
from pytest_django.live_server_helper import LiveServer


class OneRequestAtATimeServer(ThreadedWSGIServer):
    def set_app(self, application: Callable) -> None:
        lock = threading.Lock()

        def one_at_a_time(environ: dict, start_response: Callable) -> Iterable[bytes]:
            with lock:
                response = application(environ, start_response)
                try:
                    return list(response)
                finally:
                    # Closing the response sends request_finished, which touches the connection too.
                    close = getattr(response, "close", None)
                    if close is not None:
                        close()

        super().set_app(one_at_a_time)


def start_live_server(config) -> LiveServer:
    addr = config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server = LiveServer(addr, start=False)
    if server.thread.connections_override:
        server.thread.server_class = OneRequestAtATimeServer
    server.start()
    return server
