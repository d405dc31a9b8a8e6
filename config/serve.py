"""`make serve`: the production stack on one host, nginx in front of the application server (granian).

    python -m config.serve          # HOST, PORT, WEB_CONCURRENCY, DATABASE_URL, REDIS_URL, ... from the env

Why nginx (Debian's) in front: an application thread is taken by one request from its first byte to its
last, so a few clients trickling their headers or bodies would take every thread. nginx reads each
request whole (headers and body, event-driven, thousands of slow connections on one process) before it
hands it to the application server over a local socket (kept-alive connections), and takes the answer
whole, so the application only ever serves a complete request to a fast local reader. The application is
WSGI (config/app_server.py: granian, a few threads per worker process): the same code, tests, timeouts and
benchmarks as everywhere else. The application server's own protocol errors (URI or headers too large)
would be plain text we cannot put in the families' envelopes; nginx answers its own errors (414, 431, 413,
400, 502, 504) with the JSON bodies rendered here from `config.edge`, chosen by the family the path belongs
to.

The launcher checks the configuration first (config/env.py: one line per bad variable, exit 2), writes
the nginx configuration into a private run directory, starts granian on a Unix socket there and nginx in
the foreground, and stops both when either ends or on SIGTERM/SIGINT.
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from config import app_server
from config.env import ConfigError, Env

BASE_DIR = Path(__file__).resolve().parent.parent

# Limits the front enforces (documented in docs/operations.md "make serve").
URI_BUFFER_KB = 32  # request line (and each header line) at most this long: 414 / 431 above
HEADER_BUFFERS = 4  # all headers together at most HEADER_BUFFERS x URI_BUFFER_KB: 431 above
MAX_BODY = "5m"  # 413 above (Django refuses non-file bodies over 2.5 MB itself, with a 400 in the envelope)
SLOW_CLIENT_SECONDS = 10  # a client that has not sent its headers (or its next body chunk) by then is dropped


def nginx_config(*, host: str, port: int, run: Path, socket: Path, user: str | None) -> str:
    from config.edge import EDGE_ERRORS, FAMILIES, edge_body, nginx_string

    maps = []
    for status in EDGE_ERRORS:
        lines = [f"map $edge_family $edge_{status} {{", f"    default {nginx_string(edge_body('spree', status))};"]
        lines += [f"    {family} {nginx_string(edge_body(family, status))};" for family, _ in FAMILIES]
        maps.append("\n".join(lines) + "\n}")
    # Matched on the request line ($request): a URI too long to read whole has no $request_uri, only the part
    # of the line that was read, and that still names the family.
    family_map = "\n".join(f'    "~^\\S+ {pattern[1:]}" {family};' for family, pattern in FAMILIES)
    # To a URI, not a named location: nginx cannot jump to a named one from a request line it could not read.
    error_pages = "\n".join(
        f"        error_page {494 if status == 431 else status} ={status} /__edge/{status};" for status in EDGE_ERRORS)
    named = "\n".join(
        f"        location = /__edge/{status} {{ internal; default_type application/json; return {status} "
        f"$edge_{status}; }}" for status in EDGE_ERRORS)
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"""# Written by config/serve.py for this run; edit that file, not this one.
{f"user {user};" if user else ""}
worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    access_log /dev/stdout;
    server_tokens off;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    client_header_timeout {SLOW_CLIENT_SECONDS}s;
    client_body_timeout {SLOW_CLIENT_SECONDS}s;
    send_timeout 30s;
    keepalive_timeout 15s;
    client_header_buffer_size 4k;
    large_client_header_buffers {HEADER_BUFFERS} {URI_BUFFER_KB}k;
    client_max_body_size {MAX_BODY};
    map $request $edge_family {{
        default spree;
{family_map}
    }}
{chr(10).join(maps)}
    upstream app {{ server unix:{socket}; keepalive 32; }}
    server {{
        listen {listen} default_server;
        server_name _;
{error_pages}
{named}
        location / {{
            proxy_pass http://app;
            # Django checks the Host (ALLOWED_HOSTS); the client's address replaces any X-Forwarded-For it sent.
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_read_timeout 90s;
        }}
    }}
}}
"""


def find_nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def read_config(env: Env) -> tuple[str, int, int]:
    host = env.str("HOST", "127.0.0.1") or "127.0.0.1"
    port = env.int("PORT", 8000, minimum=1, maximum=65535)
    workers = env.int("WEB_CONCURRENCY", app_server.default_workers(), minimum=1, maximum=64, unit="worker processes")
    # The settings check everything else (DATABASE_URL, REDIS_URL, SECRET_KEY, ...).
    try:
        importlib.import_module(os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"))
    except ConfigError as exc:
        env.errors.extend(exc.lines)
    env.check()
    return host, port, workers


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # nginx replaces X-Forwarded-For with the client's address and granian listens on a socket: the failed-auth
    # throttle and the admin login lockout must count that address, not the socket's.
    os.environ.setdefault("STOCKROOM_NUM_PROXIES", "1")
    try:
        host, port, workers = read_config(Env())
    except ConfigError as exc:
        sys.stderr.write("".join(f"configuration error: {line}\n" for line in exc.lines))
        return 2
    import django

    django.setup()  # the edge bodies come from the families' renderers
    nginx = find_nginx()
    if nginx is None:
        sys.stderr.write("make serve needs nginx: apt-get install nginx-light (Debian), then run it again.\n")
        return 1
    run = Path(tempfile.mkdtemp(prefix=f"stockroom-serve-{port}-"))
    run.chmod(0o755)
    socket = run / "app.sock"
    # nginx's master runs as whoever starts it; as root its workers would default to `nobody`, who may not
    # reach the socket's directory: they run as root's choice of the project's owner instead.
    user = None
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwuid(BASE_DIR.stat().st_uid).pw_name
    (run / "nginx.conf").write_text(nginx_config(host=host, port=port, run=run, socket=socket, user=user))
    procs: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    try:
        procs["granian"] = subprocess.Popen(
            app_server.command(bind=app_server.unix(socket), workers=workers), cwd=BASE_DIR)
        for _ in range(600):
            if app_server.accepts(socket) or procs["granian"].poll() is not None:
                break
            time.sleep(0.1)
        if procs["granian"].poll() is not None:
            return procs["granian"].returncode or 1
        procs["nginx"] = subprocess.Popen([nginx, "-p", str(run), "-c", str(run / "nginx.conf")], cwd=run)
        threads = app_server.THREADS_PER_WORKER
        print(f"stockroom: serving http://{host}:{port}/ (nginx -> granian, {workers} workers x {threads} threads)",
              flush=True)
        while not stopping:
            ended = [name for name, proc in procs.items() if proc.poll() is not None]
            if ended:
                sys.stderr.write(f"stockroom: {ended[0]} exited ({procs[ended[0]].returncode}); stopping\n")
                code = 1
                break
            time.sleep(0.2)
    finally:
        # nginx: QUIT finishes the answers in flight; granian: TERM lets workers finish theirs.
        for name, sig in (("nginx", signal.SIGQUIT), ("granian", signal.SIGTERM)):
            proc = procs.get(name)
            if proc is not None and proc.poll() is None:
                proc.send_signal(sig)
        for proc in procs.values():
            try:
                proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(run, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
