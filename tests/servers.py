"""Real servers for the tests (make serve's stack, bare app servers) on the test database: a free port, the
test database's URL, a server process waited for until it listens and stopped afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.db import connections

from config import app_server

ROOT = Path(__file__).resolve().parents[1]
WAIT = 60


def free_port(ports: range) -> int:
    for port in ports:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def database_url(alias: str = "default") -> str:
    """The URL of the database `alias` uses in this test run (the test database on PostgreSQL)."""
    s = connections[alias].settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    credentials = quote(s["USER"] or "")
    if s["PASSWORD"]:
        credentials += ":" + quote(s["PASSWORD"])
    return f"postgres://{credentials}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{quote(s['NAME'])}"


def wait_listening(process: subprocess.Popen, port: int, output: Path) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}): {output.read_text(errors='replace')}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not listen on {port}: {output.read_text(errors='replace')}")
        time.sleep(0.1)


@contextmanager
def running(command: list[str], *, port: int, env: dict[str, str], log: Path,
            inherit: bool = True) -> Iterator[subprocess.Popen]:
    """`command` started with `env` over this process's environment (`inherit=False`: `env` alone), waited for
    until it listens on `port`, stopped (SIGTERM, then SIGKILL) at the end; its output goes to `log`."""
    environ = {**(os.environ if inherit else {}), "PYTHONPATH": str(ROOT), **env}
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_listening(process, port, log)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(WAIT)


def app_server_command(port: int, *, threads: int = app_server.THREADS_PER_WORKER) -> list[str]:
    """The production application server (config/app_server.py), one worker, on 127.0.0.1:`port`."""
    return app_server.command(bind=app_server.tcp("127.0.0.1", port), workers=1, threads=threads)


def serve_command() -> list[str]:
    return [sys.executable, "-m", "config.serve"]
