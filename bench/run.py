"""`make bench` / `python -m bench.run [--scale small|full]`: every benchmark, figures into bench/RESULTS.md.

Steps (each bounded in time; all traffic on 127.0.0.1):
1. reset the bench database (its name must contain "bench") and migrate;
2. recount at the small ledger size: bench_data, `manage.py recount` wall time and peak RSS;
3. the big ledger (1M movements over 10k items at full scale) with bench_data; recount again (time, RSS)
   against a bare GROUP BY on the same table;
4. reads, in process: server time p50/p95 and query count of the Spree movements index (q filter + sort,
   page 1 and a deep page) and the ledger feed (variant_ids + created_at range), with EXPLAIN plans;
5. writes: the app server (granian, one worker per core, as `make serve`) driven by wrk with 16 connections,
   single Spree movement POSTs on one hot item and over 1,000 items, and bulk counts; the raw psycopg floor
   with 16 threads in the same run, on their own items;
6. the deep item (bench/deep_item.py): corrections over HTTP on one item with 100k and 1M movements,
   beside the full rebuild.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import db, machine
from bench.commands import ROOT, checked, log
from bench.load import ensure_wrk
from bench.reads import bench_reads
from bench.recount import bench_recount
from bench.writes import bench_bulk_service, bench_writes

WORK_ROOT = Path(tempfile.gettempdir())  # wrk item lists and the app server log go in stockroom-bench-<database>
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/stockroom_bench"

@dataclass(frozen=True)
class Scale:
    movements: int  # the read/recount ledger
    items: int
    small_movements: int  # the first recount size, for the RSS comparison
    write_seconds: int
    read_requests: int
    bulk_rows: int  # rows per bulk request (each client counts its own items)
    deep_sizes: tuple[int, ...]  # movements on one item for the corrections scenario (bench/deep_item.py)


SCALES = {
    "full": Scale(movements=1_000_000, items=10_000, small_movements=100_000, write_seconds=20, read_requests=200,
                  bulk_rows=100, deep_sizes=(100_000, 1_000_000)),
    "small": Scale(movements=100_000, items=1_000, small_movements=10_000, write_seconds=5, read_requests=40,
                   bulk_rows=25, deep_sizes=(10_000, 100_000)),
}

TARGETS = {"single": 0.25, "bulk": 0.70, "p95_ms": 25.0, "queries": 4, "recount": 1.5}


# --- main ------------------------------------------------------------------------------------------------

def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def bench_api_key() -> str:
    from accounts.models import ApiKey, Role, User

    user, _ = User.objects.get_or_create(username="bench", defaults={"role": Role.ADMIN})
    _, raw = ApiKey.issue(user, name="bench")
    return raw


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default=os.environ.get("BENCH_SCALE", "full"))
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8110")))
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS.md"))
    parser.add_argument("--skip", action="append", default=[], choices=["recount", "reads", "writes", "deep"],
                        help="leave out a part (development only; RESULTS.md says so)")
    args = parser.parse_args(argv)
    scale, url = SCALES[args.scale], args.database_url
    command = " ".join(shlex.quote(a) for a in ["python", "-m", "bench.run", *(argv or sys.argv[1:])])
    command = os.environ.get("BENCH_COMMAND", command)
    started = time.perf_counter()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-not-secret"),
           "STOCKROOM_THROTTLE_RATE": "100000000/min", "DEBUG": "0", "DB_CONN_MAX_AGE": "600"}
    os.environ.update({k: env[k] for k in ("SECRET_KEY", "STOCKROOM_THROTTLE_RATE", "DEBUG", "DB_CONN_MAX_AGE")})

    log(f"bench at scale '{args.scale}' on {db.database_name(url)}")
    db.reset_database(url)
    checked(env, "migrate", "--noinput", "-v0")
    setup_django(url)
    if "writes" not in args.skip:
        ensure_wrk()  # before the machine is described, which names wrk's version
    facts = {"machine": machine.describe(), "postgres": db.server_settings(url), "scale": args.scale,
             "started": datetime.now(UTC), "command": command, "skipped": args.skip}

    recounts = []
    if "recount" not in args.skip:
        log(f"ledger of {scale.small_movements} movements")
        checked(env, "bench_data", "--movements", str(scale.small_movements), "--items", str(scale.items), "--flush")
        recounts.append(bench_recount(env, url, scale.small_movements, window=False))
    log(f"ledger of {scale.movements} movements over {scale.items} items")
    generation = checked(env, "bench_data", "--movements", str(scale.movements), "--items", str(scale.items),
                         "--flush", timeout=1800)
    facts["generation_seconds"] = generation
    if "recount" not in args.skip:
        log("recount of the big ledger")
        recounts.append(bench_recount(env, url, scale.movements, window=True))

    api_key = bench_api_key()
    reads = []
    if "reads" not in args.skip:
        log("reads")
        reads = bench_reads(scale, api_key)
    writes, post_queries, service_bulk = [], None, None
    if "writes" not in args.skip:
        writes, post_queries = bench_writes(scale, env, url, api_key, args.port)
        log("bulk counts' service path, in process")
        service_bulk = bench_bulk_service(scale)

    deep = []
    if "deep" not in args.skip:
        from bench.deep_item import bench_deep

        work = WORK_ROOT / f"stockroom-bench-{db.database_name(url)}"
        work.mkdir(parents=True, exist_ok=True)
        deep = bench_deep(scale.deep_sizes, env, url, args.port, api_key, work, log)

    facts["total_seconds"] = time.perf_counter() - started
    facts["runner_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from bench.report import render

    Path(args.output).write_text(render(facts, scale, recounts, reads, writes, post_queries, service_bulk, TARGETS,
                                        deep))
    log(f"done in {facts['total_seconds']:.0f}s: {args.output}")


if __name__ == "__main__":
    main()
