"""Raw PostgreSQL helpers for the bench: (re)creating the bench database and timing bare SQL."""

from __future__ import annotations

import time
from urllib.parse import urlparse, urlunparse

import psycopg
from psycopg import sql


def database_name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def maintenance_url(url: str) -> str:
    """The same server, database `postgres`: where CREATE/DROP DATABASE are issued from."""
    return urlunparse(urlparse(url)._replace(path="/postgres"))


def reset_database(url: str) -> None:
    """Drop and recreate the bench database. Refuses any database whose name lacks 'bench'."""
    name = database_name(url)
    if "bench" not in name:
        raise SystemExit(f"refusing to reset '{name}': the bench database's name must contain 'bench'")
    try:
        conn = psycopg.connect(maintenance_url(url), autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise SystemExit(f"cannot reach PostgreSQL for the bench ({exc}); start it or set BENCH_DATABASE_URL") from None
    with conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = %s AND pid <> pg_backend_pid()", [name])
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def scalar(url: str, query: str, params: list | None = None):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params or []).fetchone()[0]


def row(url: str, query: str, params: list | None = None) -> tuple:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params or []).fetchone()


def execute(url: str, query: str, params: list | None = None) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(query, params or [])


def timed(url: str, query: str, *, repeat: int = 3) -> tuple[float, int]:
    """(best wall time in seconds over `repeat` runs, rows returned) of a read-only query, fetching every row."""
    best, rows = float("inf"), 0
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(repeat):
            started = time.perf_counter()
            rows = len(conn.execute(query).fetchall())
            best = min(best, time.perf_counter() - started)
    return best, rows


def server_settings(url: str) -> dict[str, str]:
    names = ["server_version", "shared_buffers", "work_mem", "synchronous_commit", "fsync",
             "max_parallel_workers_per_gather", "random_page_cost"]
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)", [names])
        return dict(rows.fetchall())
