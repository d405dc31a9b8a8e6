"""Throughput of 1, 2 and 4 app processes beside the raw-SQL floor, in one run (docs/operations.md "Scaling").

    python -m bench.scaling [--database-url URL] [--seconds 8] [--port 8260] [--output bench/SCALING.md]

The same single-movement POST as `make bench` (bench/wrk/movement.lua, 16 connections) against the app server
with 1, 2 and 4 workers, on items spread over 1,000 stock items and on one hot item, and the floor
(bench/floor.py: the UPDATE and INSERT a movement needs, raw psycopg, 16 connections) on both shapes. The
machine is shared: the load average before and after is printed with the figures, and the ratios (API
over floor, n processes over one) are what to compare between runs. Resets the database it is given
(its name must contain "bench").
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

from bench import cpu, db
from bench.commands import ROOT, checked, log
from bench.floor import run_floor
from bench.load import Server, ensure_wrk, run_wrk
from bench.run import bench_api_key, setup_django
from bench.writes import CLIENTS, WORK_ROOT, write_items_file, written_since

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/stockroom_d14_bench"
PROCESSES = (1, 2, 4)


@dataclass
class Row:
    shape: str
    who: str
    rate: float
    p95_ms: float | None = None
    cpu_ms: float | None = None  # server-side CPU per movement: workers + backends (or the floor's backends)
    failed: int = 0
    app_ms: float | None = None  # of which the app server workers'



def loadavg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def measure(url: str, port: int, seconds: int) -> tuple[list[Row], dict]:
    from inventory.models import StockItem

    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-only-not-secret",
           "STOCKROOM_THROTTLE_RATE": "100000000/min", "DEBUG": "0", "DB_CONN_MAX_AGE": "600"}
    work = WORK_ROOT / f"stockroom-scaling-{db.database_name(url)}"
    work.mkdir(parents=True, exist_ok=True)
    items = list(StockItem.objects.filter(stock_location__code__startswith="BENCH-").order_by("pk")
                 .values_list("stock_location_id", "pk", "variant_id"))
    StockItem.objects.filter(pk__in=[i for _, i, _ in items[:1000]]).update(backorderable=True)
    checked(env, "bench_data", "--movements", "0", "--items", "1001", "--locations", "1", "--prefix", "FLOOR")
    floor = list(StockItem.objects.filter(stock_location__code__startswith="FLOOR-").order_by("pk")
                 .values_list("pk", flat=True))
    shapes = {"spread over 1,000 items": (write_items_file(work / "spread.txt", items[:1000]), floor[1:1001]),
              "one hot item": (write_items_file(work / "hot.txt", items[:1]), floor[:1])}
    api_key = bench_api_key()
    facts = {"load_before": loadavg(), "cpus": os.cpu_count()}
    rows: list[Row] = []
    for shape, (_, floor_ids) in shapes.items():
        log(f"floor: {shape}")
        result = run_floor(url, floor_ids, clients=CLIENTS, seconds=seconds)
        rows.append(Row(shape, "raw-SQL floor", result.rate, cpu_ms=result.cpu_ms_per_movement,
                        failed=result.errors))
    for workers in PROCESSES:
        with Server(port, workers, env, work / f"app-server-{workers}.log") as server:
            run_wrk(server.base, "movement.lua", [api_key, shapes["spread over 1,000 items"][0]], seconds=2)
            for shape, (items_file, _) in shapes.items():
                log(f"{workers} process(es): {shape}")
                pids = cpu.children(server.process.pid)
                backends = cpu.backends(url, db.database_name(url), set())
                app0, db0 = cpu.total(pids), cpu.total(backends)
                before = db.scalar(url, "SELECT COALESCE(MAX(id), 0) FROM inventory_stockmovement")
                result = run_wrk(server.base, "movement.lua", [api_key, items_file], seconds=seconds)
                written = written_since(url, before)
                app = cpu.total(pids) - app0
                spent = app + cpu.total(backends) - db0
                rows.append(Row(shape, f"{workers} app process{'es' if workers > 1 else ''}",
                                written / result.seconds, result.p95_ms, spent * 1000 / written if written else None,
                                result.failed + result.socket_errors, app * 1000 / written if written else None))
    facts["load_after"] = loadavg()
    return rows, facts


def cpu_cell(r: Row) -> str:
    if r.cpu_ms is None:
        return ""
    if r.app_ms is None:
        return f"{r.cpu_ms:.2f} (db)"
    return f"{r.cpu_ms:.2f} ({r.app_ms:.2f} + {r.cpu_ms - r.app_ms:.2f})"


def render(rows: list[Row], facts: dict, seconds: int) -> str:
    lines = [f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {facts['cpus']} cores shared with "
             f"other work (load average 1/5/15 min: {facts['load_before']} before, {facts['load_after']} after); "
             f"{seconds} s per run, 16 connections, `python -m bench.scaling`.", "",
             "| shape | server | movements/s | x floor | x 1 process | p95 ms | server CPU ms / movement (app + db) "
             f"| CPU-bound ceiling on {facts['cpus']} idle cores, movements/s | failed |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    cores = facts["cpus"]  # what the server side could do if it had every core to itself
    for shape in dict.fromkeys(r.shape for r in rows):
        group = [r for r in rows if r.shape == shape]
        floor = next(r for r in group if r.who == "raw-SQL floor")
        one = next((r for r in group if r.who == "1 app process"), None)
        for r in group:
            lines.append(
                f"| {shape} | {r.who} | {r.rate:,.0f} | {r.rate / floor.rate:.2f} | "
                f"{'' if one is None or r is floor else f'{r.rate / one.rate:.2f}'} | "
                f"{'' if r.p95_ms is None else f'{r.p95_ms:.1f}'} | {cpu_cell(r)} | "
                f"{'' if not r.cpu_ms else f'{cores * 1000 / r.cpu_ms:,.0f}'} | "
                f"{r.failed} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("SCALING_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--port", type=int, default=8260)
    parser.add_argument("--movements", type=int, default=100_000)
    parser.add_argument("--output", default=str(ROOT / "bench" / "SCALING.md"))
    args = parser.parse_args(argv)
    url = args.database_url
    if "bench" not in db.database_name(url):
        raise SystemExit("the scaling bench resets its database: give one whose name contains 'bench'")
    ensure_wrk()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-only-not-secret"}
    os.environ.setdefault("SECRET_KEY", env["SECRET_KEY"])
    log(f"scaling bench on {db.database_name(url)}")
    db.reset_database(url)
    checked(env, "migrate", "--noinput", "-v0")
    setup_django(url)
    checked(env, "bench_data", "--movements", str(args.movements), "--items", "1000", "--flush")
    rows, facts = measure(url, args.port, args.seconds)
    text = render(rows, facts, args.seconds)
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
