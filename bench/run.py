"""`make bench` / `python -m bench.run [--scale small|full]`: every benchmark, figures into bench/RESULTS.md.

Steps (each bounded in time; all traffic on 127.0.0.1):
1. reset the bench database (its name must contain "bench") and migrate;
2. recount at the small ledger size: bench_data, `manage.py recount` wall time and peak RSS;
3. the big ledger (1M movements over 10k items at full scale) with bench_data; recount again (time, RSS)
   against a bare GROUP BY on the same table;
4. reads, in process: server time p50/p95 and query count of the Spree movements index (q filter + sort,
   page 1 and a deep page) and the ledger feed (variant_ids + created_at range), with EXPLAIN plans;
5. writes: gunicorn (2 x cores sync workers) driven by wrk with 16 connections, single Spree movement
   POSTs on one hot item and over 1,000 items, and bulk counts; the raw psycopg floor with 16 threads in
   the same run, on their own items;
6. the deep item (bench/deep_item.py): corrections over HTTP on one item with 100k and 1M movements,
   beside the full rebuild.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import cpu, db, machine
from bench.floor import FloorResult, run_floor
from bench.load import Server, WrkResult, ensure_wrk, run_wrk

ROOT = Path(__file__).resolve().parent.parent
WORK_ROOT = Path(tempfile.gettempdir())  # wrk item lists and gunicorn log go in stockroom-bench-<database>
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/stockroom_bench"
CLIENTS = 16


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
GROUP_BY = "SELECT stock_item_id, SUM(quantity) FROM inventory_stockmovement GROUP BY stock_item_id"
# What checking every row's running figures costs at least: one window over the whole ledger.
WINDOW = """SELECT stock_item_id, SUM(CASE WHEN balance_after <> eb OR "rank" <> er THEN 1 ELSE 0 END)
FROM (SELECT stock_item_id, balance_after, "rank",
             SUM(quantity) OVER w AS eb, ROW_NUMBER() OVER w AS er
      FROM inventory_stockmovement
      WINDOW w AS (PARTITION BY stock_item_id ORDER BY movement_date, id)) r
GROUP BY stock_item_id"""


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def manage(env: dict, *args: str, timeout: int = 3600) -> tuple[float, int, int, str]:
    """Run `manage.py ARGS`: (wall seconds, exit code, peak RSS in KiB of that process, output)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    deadline = started + timeout
    output = []
    for line in process.stdout:  # the commands print little; read it as it comes
        output.append(line)
        if time.perf_counter() > deadline:
            process.kill()
            break
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, process.returncode, usage.ru_maxrss, "".join(output)


def checked(env: dict, *args: str, timeout: int = 3600) -> float:
    seconds, code, _, output = manage(env, *args, timeout=timeout)
    if code != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({code}):\n{output}")
    return seconds


# --- recount ---------------------------------------------------------------------------------------------

@dataclass
class RecountResult:
    movements: int
    command_seconds: float
    rss_kib: int
    service_seconds: float
    group_by_seconds: float
    window_seconds: float
    output: str


RECOUNT_ROUNDS = 5


def bench_recount(env: dict, url: str, movements: int, *, window: bool) -> RecountResult:
    from inventory.services.recount import recount

    seconds, code, rss, output = manage(env, "recount")
    if code != 0:
        raise SystemExit(f"recount found drift in the generated ledger (exit {code}):\n{output[-3000:]}")
    # Alternated, so that both see the same moments of the machine; the best of each.
    group_by = service = float("inf")
    for _ in range(RECOUNT_ROUNDS):
        group_by = min(group_by, db.timed(url, GROUP_BY, repeat=1)[0])
        started = time.perf_counter()
        report = recount()
        service = min(service, time.perf_counter() - started)
        if report.drifts:
            raise SystemExit(f"recount() found {len(report.drifts)} drifted items in the generated ledger")
    window_seconds = db.timed(url, WINDOW, repeat=1)[0] if window else 0.0
    return RecountResult(movements, seconds, rss, service, group_by, window_seconds, output.strip())


# --- reads -----------------------------------------------------------------------------------------------

def bench_reads(scale: Scale, api_key: str) -> list:
    from django.test import Client

    from bench.reads import measure
    from inventory.models import StockLocation, StockMovement, Variant

    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    location = StockLocation.objects.filter(code__startswith="BENCH-").order_by("pk").first()
    spree_path = f"/api/v1/stock_locations/{location.pk}/stock_movements"
    spree_filter = {"q[action_eq]": "sold", "q[s]": "created_at desc"}

    def spree_summary(body: dict) -> str:
        return (f"total_count {body.get('total_count')}, pages {body.get('pages')}, "
                f"page {body.get('current_page')}, {body.get('count')} rows")

    results = [measure(client, "Spree index, filter + sort, page 1", spree_path, lambda rng: dict(spree_filter),
                       requests=scale.read_requests, summarize=spree_summary)]
    first = client.get(spree_path, spree_filter)
    pages = first.json().get("pages", 1) if first.status_code == 200 else 1000
    deep = min(1000, pages)
    results.append(measure(client, f"Spree index, filter + sort, page {deep}", spree_path,
                           lambda rng: {**spree_filter, "page": str(deep)}, requests=scale.read_requests,
                           summarize=spree_summary))
    # Spree's default order (movement_date desc), no filter: the whole location's ledger, deep.
    everything = client.get(spree_path)
    deep_default = min(1000, everything.json().get("pages", 1) if everything.status_code == 200 else 1000)
    results.append(measure(client, f"Spree index, default order, page {deep_default}", spree_path,
                           lambda rng: {"page": str(deep_default)}, requests=scale.read_requests,
                           summarize=spree_summary))
    # A filter the movement counters cannot answer: the exact COUNT runs over the matching movements.
    skus = list(Variant.objects.filter(sku__startswith="BENCH-").values_list("sku", flat=True)[:200])
    results.append(measure(client, "Spree index, one SKU + action, sorted by quantity", spree_path,
                           lambda rng: {"q[stock_item_variant_sku_eq]": rng.choice(skus), "q[action_eq]": "sold",
                                        "q[s]": "quantity asc"},
                           requests=scale.read_requests, summarize=spree_summary))

    variant_ids = list(Variant.objects.filter(sku__startswith="BENCH-").values_list("pk", flat=True))
    newest = StockMovement.objects.order_by("-created_at").values_list("created_at", flat=True).first()

    def feed_params(rng) -> dict:
        end = newest - timedelta(days=rng.randint(0, 200))
        return {"variant_ids": ",".join(str(v) for v in rng.sample(variant_ids, 5)),
                "created_at_min": (end - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "created_at_max": end.strftime("%Y-%m-%dT%H:%M:%SZ")}

    results.append(measure(client, "Ledger feed, 5 variant_ids + 90-day created_at range",
                           "/api/v1/inventory_movements", feed_params, requests=scale.read_requests,
                           summarize=lambda body: f"{len(body.get('data', []))} rows on the page"))

    def feed_range(rng) -> dict:
        end = newest - timedelta(days=rng.randint(0, 300))
        return {"created_at_min": (end - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "created_at_max": end.strftime("%Y-%m-%dT%H:%M:%SZ"), "limit": "250"}

    results.append(measure(client, "Ledger feed, 7-day created_at range only, limit 250",
                           "/api/v1/inventory_movements", feed_range, requests=scale.read_requests,
                           summarize=lambda body: f"{len(body.get('data', []))} rows on the page"))
    return results


# --- writes ----------------------------------------------------------------------------------------------

@dataclass
class WriteScenario:
    name: str
    api: WrkResult | None
    api_movements: int
    floor: FloorResult | None
    note: str = ""
    app_cpu_seconds: float = 0.0  # gunicorn workers during the wrk run
    db_cpu_seconds: float = 0.0  # their PostgreSQL backends

    @property
    def api_rate(self) -> float:
        return self.api_movements / self.api.seconds if self.api and self.api.seconds else 0.0

    @property
    def api_cpu_ms_per_movement(self) -> float:
        total = self.app_cpu_seconds + self.db_cpu_seconds
        return total * 1000 / self.api_movements if self.api_movements else 0.0


def own_backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def write_items_file(path: Path, rows: list[tuple[int, int, int]]) -> str:
    path.write_text("".join(f"{loc} {item} {variant}\n" for loc, item, variant in rows))
    return str(path)


def movement_count(url: str) -> int:
    return db.scalar(url, "SELECT COALESCE(MAX(id), 0) FROM inventory_stockmovement")


def written_since(url: str, last_id: int) -> int:
    return db.scalar(url, "SELECT count(*) FROM inventory_stockmovement WHERE id > %s", [last_id])


def bench_writes(scale: Scale, env: dict, url: str, api_key: str, port: int) -> tuple[list[WriteScenario], dict]:
    from django.test import Client

    from bench.reads import count_queries
    from inventory.models import StockItem

    ensure_wrk()
    # One directory per bench database, so two benches on one machine never share item lists.
    work = WORK_ROOT / f"stockroom-bench-{db.database_name(url)}"
    work.mkdir(parents=True, exist_ok=True)
    # API writes go to items of the big ledger (each with its history); the floor to items of its own,
    # so that its bare rows (no valuation) never touch a ledger recount checks.
    api_items = list(StockItem.objects.filter(stock_location__code__startswith="BENCH-").order_by("pk")
                     .values_list("stock_location_id", "pk", "variant_id"))
    spread = api_items[:1000]
    hot = api_items[:1]
    bulk = api_items[-CLIENTS * scale.bulk_rows:]
    # Sales may outrun receipts on one item over a long run; backorderable keeps every write a 201.
    StockItem.objects.filter(pk__in=[i for _, i, _ in spread + bulk]).update(backorderable=True)
    checked(env, "bench_data", "--movements", "0", "--items", str(max(1001, CLIENTS * scale.bulk_rows)),
            "--locations", "1", "--prefix", "FLOOR")
    floor_items = list(StockItem.objects.filter(stock_location__code__startswith="FLOOR-").order_by("pk")
                       .values_list("pk", flat=True))
    floor_hot, floor_spread = floor_items[:1], floor_items[1:1001]
    floor_slices = [floor_items[n * scale.bulk_rows:(n + 1) * scale.bulk_rows] for n in range(CLIENTS)]

    # Queries behind one single-movement POST, for the report: a request of the steady state, after one
    # that has read the API key (cached for STOCKROOM_API_KEY_CACHE_SECONDS) and stamped its last use.
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    loc, item, _ = spread[1]
    client.post(f"/api/v1/stock_locations/{loc}/stock_movements",
                {"stock_movement": {"stock_item_id": item, "quantity": -1, "action": "sold"}},
                content_type="application/json")
    status, n_queries, statements = count_queries(
        client, "post", f"/api/v1/stock_locations/{loc}/stock_movements",
        {"stock_movement": {"stock_item_id": item, "quantity": -1, "action": "sold"}})
    post_queries = {"status": status, "count": n_queries, "sql": statements}

    hot_file = write_items_file(work / "hot.txt", hot)
    spread_file = write_items_file(work / "spread.txt", spread)
    bulk_file = write_items_file(work / "bulk.txt", bulk)
    seconds = scale.write_seconds
    workers = 2 * (os.cpu_count() or 1)
    scenarios = []
    with Server(port, workers, env, work / "gunicorn.log") as server:
        log(f"gunicorn up on {server.base} with {workers} workers; warming up")
        run_wrk(server.base, "movement.lua", [api_key, spread_file], seconds=3)

        own = {own_backend_pid()}

        def load(script: str, args: list[str]) -> tuple[WrkResult, int, float, float]:
            """wrk run -> (result, movements written, CPU s of the workers, CPU s of their backends)."""
            workers_pids = cpu.children(server.process.pid)
            backend_pids = cpu.backends(url, db.database_name(url), own)
            app0, db0, before = cpu.total(workers_pids), cpu.total(backend_pids), movement_count(url)
            result = run_wrk(server.base, script, args, seconds=seconds)
            return (result, written_since(url, before), cpu.total(workers_pids) - app0,
                    cpu.total(backend_pids) - db0)

        for name, items_file, floor_ids in (("single POST, one hot item", hot_file, floor_hot),
                                             ("single POST, spread over 1,000 items", spread_file, floor_spread)):
            log(f"write: {name}")
            api, written, app_cpu, db_cpu = load("movement.lua", [api_key, items_file])
            floor = run_floor(url, floor_ids, clients=CLIENTS, seconds=seconds)
            scenarios.append(WriteScenario(name, api, written, floor, app_cpu_seconds=app_cpu, db_cpu_seconds=db_cpu))

        log(f"write: bulk counts, {scale.bulk_rows} rows per request")
        api, written, app_cpu, db_cpu = load("adjustments.lua", [api_key, bulk_file, str(CLIENTS)])
        floor = run_floor(url, floor_items, clients=CLIENTS, seconds=seconds, slices=floor_slices)
        scenarios.append(WriteScenario(f"bulk counts, {scale.bulk_rows} rows per request", api, written, floor,
                                       note="floor here: the same rows per transaction, raw SQL",
                                       app_cpu_seconds=app_cpu, db_cpu_seconds=db_cpu))
    return scenarios, post_queries


@dataclass
class ServiceBulk:
    rows: int
    batches: int
    one_by_one: float  # movements/s, apply_count_to_locked per row
    set_based: float  # movements/s, apply_counts_to_locked (post_many)
    one_by_one_cpu_ms: float = 0.0  # this process's CPU per movement (PostgreSQL's not included)
    set_based_cpu_ms: float = 0.0


def bench_bulk_service(scale: Scale, batches: int = 10) -> ServiceBulk:
    """The bulk counts' service path in process, single-threaded: the row-by-row loop that
    `services.counts.apply_counts` runs today against the set-based `apply_counts_to_locked`."""
    import random

    from django.db import transaction

    from inventory.models import StockItem
    from inventory.services.locking import lock_items
    from inventory.services.movements import apply_count_to_locked, apply_counts_to_locked

    ids = list(StockItem.objects.filter(stock_location__code__startswith="BENCH-").order_by("-pk")
               .values_list("pk", flat=True)[:scale.bulk_rows])
    rng = random.Random(5)
    rates, cpu_ms = [], []
    for batched in (False, True):
        written, elapsed, cpu_started = 0, 0.0, time.process_time()
        for _ in range(batches):
            started = time.perf_counter()
            with transaction.atomic():
                locked = lock_items(ids)
                counts = [(locked[pk], rng.randint(100, 1000), "bench") for pk in ids]
                if batched:
                    results = apply_counts_to_locked(counts)
                else:
                    results = [apply_count_to_locked(item, counted, notes=notes) for item, counted, notes in counts]
            elapsed += time.perf_counter() - started
            written += sum(1 for r in results if r is not None)
        rates.append(written / elapsed)
        cpu_ms.append((time.process_time() - cpu_started) * 1000 / max(written, 1))
    return ServiceBulk(scale.bulk_rows, batches, rates[0], rates[1], cpu_ms[0], cpu_ms[1])


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
