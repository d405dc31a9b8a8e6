"""Write-path measurements: the app server driven by wrk (single POSTs on a hot item and spread, bulk counts)
beside the raw psycopg floor in the same run, and the bulk counts' service path in process."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench import cpu, db
from bench.commands import checked, log
from bench.floor import FloorResult, run_floor
from bench.load import Server, WrkResult, ensure_wrk, run_wrk
from config.app_server import default_workers

if TYPE_CHECKING:
    from bench.run import Scale

CLIENTS = 16
WORK_ROOT = Path(tempfile.gettempdir())  # wrk item lists and the app server log go in stockroom-bench-<database>


@dataclass
class WriteScenario:
    name: str
    api: WrkResult | None
    api_movements: int
    floor: FloorResult | None
    note: str = ""
    app_cpu_seconds: float = 0.0  # app server workers during the wrk run
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
    workers = default_workers()  # what `make serve` starts
    scenarios = []
    with Server(port, workers, env, work / "app-server.log") as server:
        log(f"app server up on {server.base} with {workers} workers; warming up")
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
