"""The application server: granian serving `config.wsgi` (WSGI), one command for `make serve`, the bench and
the tests that start real servers.

Why granian rather than gunicorn's sync workers (bench/FINDINGS.md, round 9): granian reads and writes HTTP
in Rust and keeps connections alive, and each worker process runs the application on a few threads, so
that while one request waits on PostgreSQL (its lock statement, its COMMIT) another runs its Python. A
sync worker idles through those waits: beside it, on the same machine, the single movement POST went
from 20-22 % to 23-25 % of the raw-SQL floor, with less CPU per request. Slow clients are nginx's
business in front of it (config/serve.py), as they were gunicorn's.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

# Threads per worker process that run the application. Two keep a core busy while one waits on the
# database; more only hand the interpreter lock around (FINDINGS round 9).
THREADS_PER_WORKER = 2


def default_workers() -> int:
    """One worker process per CPU: a movement POST keeps its process busy, and more processes than cores only
    switch more (docs/operations.md, "App processes against the raw-SQL floor"). `bench/` serves with as many."""
    return os.cpu_count() or 2


def tcp(host: str, port: int) -> list[str]:
    return ["--host", host, "--port", str(port)]


def unix(path: Path) -> list[str]:
    return ["--uds", str(path)]


def command(*, bind: list[str], workers: int, threads: int = THREADS_PER_WORKER) -> list[str]:
    """granian's command line serving config.wsgi on `bind` (`tcp(...)` or `unix(...)`)."""
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi", "config.wsgi:application", *bind,
        "--workers", str(workers), "--blocking-threads", str(threads),
        # A worker that dies (killed, out of memory) is replaced; one that cannot boot (a configuration
        # error: config/wsgi.py exits 3) is a crash loop, which granian detects and stops on.
        "--respawn-failed-workers",
        "--no-ws", "--workers-kill-timeout", "20",
    ]


def accepts(path: Path) -> bool:
    """Whether the server on the Unix socket `path` takes connections: granian creates the socket's file a
    moment before it listens on it, and a connection refused meanwhile would be nginx's 502."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(str(path)) == 0
