"""Bulk benchmark data: a consistent ledger of N movements over M stock items, loaded with COPY.

The ORM would take hours for a million movements, so the ledger is simulated here in plain Python and
streamed to PostgreSQL with COPY. The simulation follows the valuation rules of `services.valuation`
exactly for the shape of data it makes (one unit cost per variant, non-backorderable items, no
transfers), so every running figure, cost layer, consumption and cached stock level is what the
service layer would have written: `recount` finds no drift and the reference `rebuild_item` changes nothing.

PostgreSQL only. Meant for benchmark databases: `--flush` empties the catalogue and ledger first.
"""

from __future__ import annotations

import io
import json
import random
import time
from array import array
from collections import deque
from datetime import UTC, datetime, timedelta

from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from inventory.management.base import StockroomCommand
from inventory.models import (
    CostLayer,
    LayerConsumption,
    MovementFigures,
    Product,
    StockItem,
    StockLocation,
    StockMovement,
    Variant,
)
from inventory.rawsql import on_postgresql

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK = 50_000  # movements per COPY statement: bounded memory whatever N is

MOVEMENT_COLUMNS = [
    "id", "stock_item_id", "quantity", "action", "movement_date", "unit_cost_fixed", "resource_type",
    "resource_id", "caused_by_order_no", "caused_by_resource_id", "notes", "transfer_id", "source_movement_id",
    "created_by_id", "created_at", "stock_location_id",
]
FIGURES_COLUMNS = ["movement_id", "stock_item_id", "quantity", "rank", "balance_after", "value_per_unit",
                   "total_cost", "value_in_stock_after", "average_cost_after", "running_value", "updated_at"]
LAYER_COLUMNS = ["id", "stock_item_id", "movement_id", "unit_cost", "quantity_received", "quantity_remaining",
                 "created_at"]
CONSUMPTION_COLUMNS = ["movement_id", "layer_id", "quantity", "unit_cost"]
ITEM_COLUMNS = ["id", "stock_location_id", "variant_id", "count_on_hand", "quantity_allocated", "backorderable",
                "reorder_point", "max_stock_level", "last_counted_at", "value_in_stock", "average_cost",
                "running_value", "last_movement_at", "created_at", "updated_at", "movement_counts",
                "movement_total"]
LOCATION_COLUMNS = ["id", "name", "code", "active", "default", "backorderable_default", "propagate_all_variants",
                    "created_at", "updated_at"]
PRODUCT_COLUMNS = ["id", "name", "slug", "description", "deleted_at", "created_at", "updated_at"]
VARIANT_COLUMNS = ["id", "product_id", "sku", "price", "cost_price", "is_master", "track_inventory", "weight",
                   "height", "width", "depth", "options_text", "deleted_at", "created_at", "updated_at"]

# What caused each kind of movement, for the filter benchmarks (resource_type, order number prefix).
CAUSES = {
    "received": ("PurchaseOrder", "PO"),
    "sold": ("SalesOrder", "SO"),
    "returned": ("SalesReturn", "SO"),
    "adjusted": ("StockAdjustment", ""),
    "counted": ("StockCount", ""),
}


def cents(amount: int) -> str:
    """Integer cents -> '123.45' (amounts here are never negative)."""
    return f"{amount // 100}.{amount % 100:02d}"


def unit(amount_cents: int) -> str:
    """Integer cents -> a 4-place unit cost, '123.4500'."""
    return f"{amount_cents // 100}.{amount_cents % 100:02d}00"


def stamp(micros: int) -> str:
    return str(EPOCH + timedelta(microseconds=micros))


def copy_rows(cursor, table: str, columns: list[str], data: str) -> None:
    if not data:
        return
    column_list = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
        copy.write(data)


def check_columns(model, columns: list[str]) -> None:
    """Fail loudly if the model gained a column this generator doesn't fill (COPY would leave it NULL), unless
    NULL is what a fresh row holds there (a nullable column without a default, such as a stock location's
    address or a stock item's `deleted_at`)."""
    actual = {f.column for f in model._meta.concrete_fields}
    left_null = {f.column for f in model._meta.concrete_fields if f.null and not f.has_default()}
    missing = actual - set(columns) - left_null
    unknown = set(columns) - actual
    if missing or unknown:
        raise CommandError(f"bench_data is out of date for {model._meta.db_table}: "
                           f"missing {sorted(missing)}, unknown {sorted(unknown)}")


class Command(StockroomCommand):
    help = "Generate a consistent benchmark ledger (N movements over M stock items) with PostgreSQL COPY."

    def add_arguments(self, parser):
        parser.add_argument("--movements", type=int, default=100_000, help="number of movements (default 100000)")
        parser.add_argument("--items", type=int, default=1_000, help="number of stock items (default 1000)")
        parser.add_argument("--locations", type=int, default=2, help="stock locations the items spread over")
        parser.add_argument("--days", type=int, default=365, help="movements spread over this many past days")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--prefix", default="BENCH", help="prefix of the SKUs, slugs and location codes")
        parser.add_argument("--flush", action="store_true",
                            help="first delete every product, location, item and movement (bench databases only)")

    def handle(self, *args, **opts):
        if not on_postgresql():
            raise CommandError("bench_data needs PostgreSQL (it loads with COPY).")
        n_movements, n_items, n_locations = opts["movements"], opts["items"], opts["locations"]
        if n_items < 1 or n_locations < 1 or n_movements < 0 or n_locations > n_items:
            raise CommandError("Need --items >= --locations >= 1 and --movements >= 0.")
        if opts["flush"]:
            self.flush()
        for model, columns in ((StockMovement, MOVEMENT_COLUMNS), (CostLayer, LAYER_COLUMNS + []),
                               (StockItem, ITEM_COLUMNS), (StockLocation, LOCATION_COLUMNS),
                               (Product, PRODUCT_COLUMNS), (Variant, VARIANT_COLUMNS)):
            check_columns(model, columns)
        check_columns(LayerConsumption, ["id", *CONSUMPTION_COLUMNS])
        check_columns(MovementFigures, FIGURES_COLUMNS)

        started = time.monotonic()
        self.rng = random.Random(opts["seed"])
        with transaction.atomic(), connection.cursor() as wrapper:
            cursor = wrapper.cursor  # the psycopg cursor, for COPY
            # Foreign keys are checked by construction here; skipping the per-row triggers halves the load
            # time. Needs a superuser; without one the deferred checks simply run at commit.
            try:
                with transaction.atomic():
                    cursor.execute("SET LOCAL session_replication_role = replica")
            except Exception:  # noqa: BLE001 - any refusal just means the slower path
                pass
            stats = self.generate(cursor, n_movements, n_items, n_locations, opts["days"], opts["prefix"])
        loaded = time.monotonic()
        if not connection.in_atomic_block:  # VACUUM can't run in a transaction (e.g. inside a test)
            with connection.cursor() as cursor:
                for model in (StockMovement, MovementFigures, CostLayer, LayerConsumption, StockItem, Variant, Product):
                    # Fresh statistics for the planner, and a visibility map so index-only scans stay so.
                    cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
        self.stdout.write(
            f"bench_data: {stats['movements']} movements, {stats['layers']} cost layers, "
            f"{stats['consumptions']} consumptions over {n_items} items at {n_locations} locations "
            f"(first item id {stats['first_item']}); loaded in {loaded - started:.1f}s, "
            f"vacuum/analyze {time.monotonic() - loaded:.1f}s"
        )

    def flush(self) -> None:
        name = connection.settings_dict["NAME"]
        if "bench" not in name and not name.startswith("test_"):
            raise CommandError(f"--flush only runs on a benchmark or test database, not '{name}'.")
        tables = [m._meta.db_table for m in (LayerConsumption, CostLayer, MovementFigures, StockMovement, StockItem,
                                             Variant, Product, StockLocation)]
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")

    def next_id(self, cursor, model) -> int:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {model._meta.db_table}")
        return cursor.fetchone()[0]

    def generate(self, cursor, n_movements: int, n_items: int, n_locations: int, days: int, prefix: str) -> dict:
        rng = self.rng
        now = timezone.now() - timedelta(minutes=1)
        start_us = int((now - timedelta(days=days) - EPOCH).total_seconds() * 1_000_000)
        end_us = int((now - EPOCH).total_seconds() * 1_000_000)
        catalogue_at = stamp(start_us - 86_400_000_000)

        # Catalogue: one master variant per product; variant v is stocked at every location, so
        # items = variants x locations (the last variant may be stocked at fewer).
        n_variants = -(-n_items // n_locations)
        location_id0 = self.next_id(cursor, StockLocation)
        product_id0 = self.next_id(cursor, Product)
        variant_id0 = self.next_id(cursor, Variant)
        item_id0 = self.next_id(cursor, StockItem)
        movement_id0 = self.next_id(cursor, StockMovement)
        layer_id0 = self.next_id(cursor, CostLayer)

        buf = io.StringIO()
        for n in range(n_locations):
            lid = location_id0 + n
            buf.write(f"{lid}\t{prefix} location {lid}\t{prefix}-L{lid}\tt\tf\tf\tf\t{catalogue_at}\t{catalogue_at}\n")
        copy_rows(cursor, StockLocation._meta.db_table, LOCATION_COLUMNS, buf.getvalue())

        cost = array("l", (rng.randint(100, 20_000) for _ in range(n_variants)))  # cents, per variant
        buf = io.StringIO()
        for n in range(n_variants):
            pid = product_id0 + n
            buf.write(f"{pid}\t{prefix} product {pid}\t{prefix.lower()}-product-{pid}\tBenchmark product\t\\N\t"
                      f"{catalogue_at}\t{catalogue_at}\n")
        copy_rows(cursor, Product._meta.db_table, PRODUCT_COLUMNS, buf.getvalue())
        buf = io.StringIO()
        for n in range(n_variants):
            vid = variant_id0 + n
            buf.write(f"{vid}\t{product_id0 + n}\t{prefix}-{vid:07d}\t{cents(cost[n] * 3 // 2)}\t{unit(cost[n])}\t"
                      f"t\tt\t\\N\t\\N\t\\N\t\\N\t\t\\N\t{catalogue_at}\t{catalogue_at}\n")
        copy_rows(cursor, Variant._meta.db_table, VARIANT_COLUMNS, buf.getvalue())

        # Item i is variant i // n_locations at location i % n_locations.
        item_cost = array("l", (cost[i // n_locations] for i in range(n_items)))
        balance = array("l", bytes(8 * n_items))
        rank = array("l", bytes(8 * n_items))
        last_counted = array("q", bytes(8 * n_items))
        last_movement = array("q", bytes(8 * n_items))
        action_counts: list[dict[str, int]] = [{} for _ in range(n_items)]
        open_layers: list[deque | None] = [None] * n_items
        layer_item, layer_movement, layer_qty = array("l"), array("q"), array("l")
        layer_remaining, layer_created = array("l"), array("q")
        n_consumptions = 0

        step = max(1, (end_us - start_us) // max(n_movements, 1))
        table_m, table_c = StockMovement._meta.db_table, LayerConsumption._meta.db_table
        table_f = MovementFigures._meta.db_table
        rand, randint = rng.random, rng.randint
        for chunk_start in range(0, n_movements, CHUNK):
            movements, consumptions, figures = io.StringIO(), io.StringIO(), io.StringIO()
            for k in range(chunk_start, min(n_movements, chunk_start + CHUNK)):
                mid = movement_id0 + k
                # Strictly increasing in id order, so (movement_date, id) order is id order.
                at_us = start_us + k * step + randint(0, step - 1)
                i = randint(0, n_items - 1)
                b, c = balance[i], item_cost[i]
                r = rand()
                if rank[i] == 0:
                    action, q = "received", randint(20, 200)
                elif r < 0.15:
                    action, q = "received", randint(5, 40)
                elif r < 0.70:
                    action, q = "sold", -randint(1, 8)
                elif r < 0.75:
                    action, q = "returned", randint(1, 3)
                elif r < 0.88:
                    action, q = "adjusted", randint(1, 5) * (1 if r < 0.815 else -1)
                else:
                    action, q = "counted", randint(1, 10) * (1 if r < 0.94 else -1)
                if b + q < 0:
                    action, q = "received", randint(5, 40)
                b += q
                balance[i] = b
                rank[i] += 1
                action_counts[i][action] = action_counts[i].get(action, 0) + 1
                at = stamp(at_us)
                created = stamp(at_us + randint(0, 2_000_000))
                value = unit(c)
                if q > 0:
                    fixed = "t"
                    if open_layers[i] is None:
                        open_layers[i] = deque()
                    open_layers[i].append(len(layer_qty))
                    layer_item.append(i)
                    layer_movement.append(mid)
                    layer_qty.append(q)
                    layer_remaining.append(q)
                    layer_created.append(at_us)
                else:
                    fixed = "f"
                    need, fifo = -q, open_layers[i]
                    while need:
                        layer = fifo[0]
                        take = min(need, layer_remaining[layer])
                        layer_remaining[layer] -= take
                        need -= take
                        if layer_remaining[layer] == 0:
                            fifo.popleft()
                        consumptions.write(f"{mid}\t{layer_id0 + layer}\t{take}\t{value}\n")
                        n_consumptions += 1
                last_movement[i] = at_us
                if action == "counted":
                    last_counted[i] = at_us
                resource_type, order_prefix = CAUSES[action]
                order_no = f"{order_prefix}-{randint(1, 200_000):07d}" if order_prefix else ""
                movements.write(
                    f"{mid}\t{item_id0 + i}\t{q}\t{action}\t{at}\t{fixed}\t{resource_type}\t{randint(1, 500_000)}\t"
                    f"{order_no}\t{randint(1, 2_000_000)}\t\t\\N\t\\N\t\\N\t{created}\t"
                    f"{location_id0 + i % n_locations}\n"
                )
                figures.write(f"{mid}\t{item_id0 + i}\t{q}\t{rank[i]}\t{b}\t{value}\t{cents(abs(q) * c)}\t"
                              f"{cents(b * c)}\t{value}\t{cents(b * c)}\t{created}\n")
            copy_rows(cursor, table_m, MOVEMENT_COLUMNS, movements.getvalue())
            copy_rows(cursor, table_f, FIGURES_COLUMNS, figures.getvalue())
            copy_rows(cursor, table_c, CONSUMPTION_COLUMNS, consumptions.getvalue())
            self.stderr.write(f"  {min(n_movements, chunk_start + CHUNK)}/{n_movements} movements", ending="\r")
        if n_movements:
            self.stderr.write("")

        table_l = CostLayer._meta.db_table
        for chunk_start in range(0, len(layer_qty), CHUNK * 4):
            layers = io.StringIO()
            for n in range(chunk_start, min(len(layer_qty), chunk_start + CHUNK * 4)):
                i = layer_item[n]
                layers.write(f"{layer_id0 + n}\t{item_id0 + i}\t{layer_movement[n]}\t{unit(item_cost[i])}\t"
                             f"{layer_qty[n]}\t{layer_remaining[n]}\t{stamp(layer_created[n])}\n")
            copy_rows(cursor, table_l, LAYER_COLUMNS, layers.getvalue())

        items = io.StringIO()
        now_s = stamp(end_us)
        for i in range(n_items):
            b, c = balance[i], item_cost[i]
            counted = stamp(last_counted[i]) if last_counted[i] else "\\N"
            average = unit(c) if rank[i] else "0.0000"
            newest = stamp(last_movement[i]) if rank[i] else "\\N"
            items.write(f"{item_id0 + i}\t{location_id0 + i % n_locations}\t{variant_id0 + i // n_locations}\t{b}\t"
                        f"0\tf\t10\t\\N\t{counted}\t{cents(b * c)}\t{average}\t{cents(b * c)}\t{newest}\t"
                        f"{catalogue_at}\t{now_s}\t{json.dumps(action_counts[i], sort_keys=True)}\t"
                        f"{sum(action_counts[i].values())}\n")
        copy_rows(cursor, StockItem._meta.db_table, ITEM_COLUMNS, items.getvalue())

        for model in (StockLocation, Product, Variant, StockItem, StockMovement, CostLayer, LayerConsumption):
            table = model._meta.db_table
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)")
        return {"movements": n_movements, "layers": len(layer_qty), "consumptions": n_consumptions,
                "first_item": item_id0}
