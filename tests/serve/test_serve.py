"""Issue 14.2 and 12.11: `make serve` (nginx in front of granian, config/serve.py) against real sockets.

Slow clients cannot stall it; static files and the admin work through it; every answer under /api/ is
JSON in the family's envelope, including the errors nginx answers itself (URI, headers, body too large,
a malformed request) and Django's disallowed Host."""

from __future__ import annotations

import http.client
import json
import socket
import time

import pytest
from django.db import connection

from config.serve import find_nginx
from tests.servers import database_url, free_port, running, serve_command

pytestmark = pytest.mark.skipif(find_nginx() is None, reason="needs nginx (apt-get install nginx-light; "
                                                            ".ci/run installs it)")

PORTS = range(8250, 8260)
FAMILY_PATHS = {
    "katana": "/api/v1/inventory_movements",
    "history": "/api/v1/movements/product/1",
    "warehouse": "/api/v1/inventory",
    "spree": "/api/v1/stock_items",
}


def envelope_of(family: str, body: dict, status: int) -> None:
    """The body is `family`'s error envelope for `status`."""
    if family == "katana":
        assert body["statusCode"] == status and body["name"].endswith("Error") and body["message"]
    elif family == "warehouse":
        assert set(body) == {"error", "details"} and body["error"]
    else:
        assert set(body) == {"error"} and body["error"]


@pytest.fixture(scope="module")
def served(django_db_setup, django_db_blocker, tmp_path_factory):
    port = free_port(PORTS)
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with django_db_blocker.unblock():
        # SQLite's test database lives in this process's memory: the server gets an empty file instead (the
        # requests here need no table: they are refused before any query, or are static files and forms).
        url = database_url() if connection.vendor == "postgresql" else f"sqlite:///{log.parent / 'serve.sqlite3'}"
    env = {"PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2", "DATABASE_URL": url,
           "SECRET_KEY": "serve-test-only", "DEBUG": "0", "DB_CONN_MAX_AGE": "0"}
    with running(serve_command(), port=port, env=env, log=log):
        for _ in range(4):  # both workers past their first request (URLconf, DRF and the families imported)
            request(port, "GET", "/api/v1/inventory_movements", timeout=60)
        yield port


def request(port: int, method: str, path: str, headers: dict | None = None, body: bytes | None = None,
            timeout: float = 10) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_a_hundred_clients_trickling_headers_do_not_stall_a_normal_request(served):
    port = served
    trickling = []
    try:
        for _ in range(100):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /api/v1/inventory HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            trickling.append(sock)
        times = []
        for second in range(4):
            for sock in trickling:
                sock.sendall(f"X-Slow-{second}: a\r\n".encode())
            started = time.monotonic()
            status, headers, _ = request(port, "GET", "/api/v1/inventory_movements")
            times.append(time.monotonic() - started)
            assert status == 401 and headers["content-type"] == "application/json"
            time.sleep(0.5)
        assert max(times) < 1.0, f"normal requests took {times} s behind 100 slow clients"
    finally:
        for sock in trickling:
            sock.close()


def test_static_files_and_the_admin_work_through_it(served):
    status, headers, body = request(served, "GET", "/static/admin/css/base.css")
    assert status == 200 and headers["content-type"].startswith("text/css") and len(body) > 1000
    status, headers, body = request(served, "GET", "/admin/login/")
    assert status == 200 and b"csrfmiddlewaretoken" in body
    # The docs are for signed-in callers: a stranger is sent to the admin login, through the same stack.
    status, headers, _ = request(served, "GET", "/api/docs/")
    assert status == 302 and "/admin/login/" in headers["location"]


@pytest.mark.parametrize("family", FAMILY_PATHS)
def test_a_uri_too_long_is_a_414_in_the_family_envelope(served, family):
    query = "&".join(f"q[id_in][]={n}" for n in range(3000))  # about 46 KB, past the 32 KB a URI may have
    status, headers, body = request(served, "GET", f"{FAMILY_PATHS[family]}?{query}")
    assert status == 414 and headers["content-type"] == "application/json"
    envelope_of(family, json.loads(body), 414)


@pytest.mark.parametrize("family", FAMILY_PATHS)
def test_headers_too_large_are_a_431_in_the_family_envelope(served, family):
    status, headers, body = request(served, "GET", FAMILY_PATHS[family], {"X-Big": "a" * 40_000})
    assert status == 431 and headers["content-type"] == "application/json"
    envelope_of(family, json.loads(body), 431)
    many = {f"X-H{n}": "b" * 20_000 for n in range(8)}  # each fits, together past 4 x 32 KB
    status, headers, body = request(served, "GET", FAMILY_PATHS[family], many)
    assert status == 431
    envelope_of(family, json.loads(body), 431)


@pytest.mark.parametrize("family", FAMILY_PATHS)
def test_a_body_too_large_is_a_413_in_the_family_envelope(served, family):
    status, headers, body = request(served, "POST", FAMILY_PATHS[family], {"Content-Type": "application/json"},
                                    b"[" + b"1," * 3_000_000 + b"1]")
    assert status == 413 and headers["content-type"] == "application/json"
    envelope_of(family, json.loads(body), 413)


def test_a_malformed_request_is_a_json_400(served):
    with socket.create_connection(("127.0.0.1", served), timeout=5) as sock:
        sock.sendall(b"GET /api/v1/inventory_movements HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n")  # header without ':'
        answer = sock.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    envelope_of("katana", json.loads(body), 400)


@pytest.mark.parametrize("family", FAMILY_PATHS)
def test_a_disallowed_host_is_a_400_in_the_family_envelope(served, family):
    status, headers, body = request(served, "GET", FAMILY_PATHS[family], {"Host": "evil.example"})
    assert status == 400 and headers["content-type"] == "application/json"
    envelope_of(family, json.loads(body), 400)


def test_a_long_id_list_works_up_to_its_documented_size(served):
    # 500 values (the q parser's MAX_LIST_VALUES), 19 KB of URI: through nginx and Django's field limit.
    query = "&".join(f"q[id_in][]={1_000_000 + n}" for n in range(500))
    status, headers, body = request(served, "GET", f"/api/v1/stock_locations?{query}")
    assert status == 401 and headers["content-type"] == "application/json"  # reached the view: no key sent


def test_a_bad_setting_stops_it_with_one_line(tmp_path):
    import subprocess
    import sys

    from tests.servers import ROOT

    result = subprocess.run([sys.executable, "-m", "config.serve"], cwd=ROOT, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "PORT": "eighty", "WEB_CONCURRENCY": "0",
                                 "SECRET_KEY": "x"}, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == ("configuration error: PORT='eighty' is not valid: expected a whole number, from 1 to 65535 "
                        "(e.g. 8000).")
    assert lines[1].startswith("configuration error: WEB_CONCURRENCY='0' is not valid: expected a whole number of "
                               "worker processes, from 1 to 64 (e.g. ")  # the example is this machine's CPU count
    assert len(lines) == 2
