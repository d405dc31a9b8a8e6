"""Partition `inventory_stockmovement` by month of `created_at`, tried on a copy of a bench database.

    python -m bench.partition [--source stockroom_d14_bench] [--copy stockroom_d14_bench_part]

The steps are the migration docs/operations.md ("Partitioning the movement table") describes, for a table
that is live and large: everything that reads the whole table runs online first (CONCURRENTLY, NOT VALID
then VALIDATE), so the one ACCESS EXCLUSIVE window only renames, creates and attaches. The existing table
becomes the partition of everything before the cutover month, without being copied or scanned; new months
get partitions of their own. On the copy the script then checks what the application needs: the same
rows, `recount` finds no drift, a movement written through the services lands in the current partition
(and one recorded after the cutover in its month's), ids keep coming from the same sequence.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from bench.commands import ROOT

T = "inventory_stockmovement"
OLD = "inventory_stockmovement_before"
# Django's indexes on the table (inventory/models), re-created on the parent under the same names.
INDEXES = {
    "movement_created_idx": "(created_at)",
    "movement_date_idx": "(movement_date)",
    "movement_item_created_idx": "(stock_item_id, created_at, id)",
    "movement_item_date_idx": "(stock_item_id, movement_date, id)",
    "movement_loc_act_created_idx": "(stock_location_id, action, created_at, id)",
    "movement_location_date_idx": "(stock_location_id, movement_date, id)",
    "movement_order_no_idx": "(caused_by_order_no)",
    "movement_resource_idx": "(resource_type, resource_id)",
}

PARTIAL = {"movement_source_idx": "source_movement_id", "movement_transfer_idx": "transfer_id"}


def steps(cutover: str, months: list[tuple[str, str]]) -> list[tuple[str, bool, str]]:
    """(what, online?, SQL). Online steps take no lock that stops writers; the rest is one transaction."""
    out = [
        ("unique index on (id, created_at), the partitioned table's key", True,
         f"CREATE UNIQUE INDEX CONCURRENTLY movement_id_created_key ON {T} (id, created_at)"),
        ("bound the existing rows below the cutover (NOT VALID: no scan)", True,
         f"ALTER TABLE {T} ADD CONSTRAINT movement_before_cutover CHECK (created_at < '{cutover}') NOT VALID"),
        ("validate the bound (scans, but lets writers through)", True,
         f"ALTER TABLE {T} VALIDATE CONSTRAINT movement_before_cutover"),
    ]
    window = [
        f"LOCK TABLE {T} IN ACCESS EXCLUSIVE MODE",
        # A partitioned table can only be referenced on its whole key (id, created_at): the four foreign keys
        # to a movement by id go (the services write both sides in one transaction; recount --deep checks them).
        "DO $$ DECLARE c record; BEGIN FOR c IN SELECT conname, conrelid::regclass AS tab FROM pg_constraint "
        f"WHERE confrelid = '{T}'::regclass AND contype = 'f' LOOP "
        "EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tab, c.conname); END LOOP; END $$",
        f"ALTER TABLE {T} RENAME TO {OLD}",
        # Its key becomes (id, created_at) (the unique index built above); ids stay unique by the sequence.
        f"ALTER TABLE {OLD} DROP CONSTRAINT {T}_pkey",
        *(f"ALTER INDEX {name} RENAME TO {name}_before" for name in [*INDEXES, *PARTIAL]),
        # Identity columns cannot be partitioned before PostgreSQL 17: a plain sequence owned by the column,
        # which is what the services' pg_get_serial_sequence() finds, continuing from the last id.
        f"CREATE SEQUENCE {T}_id_seq_new",
        f"SELECT setval('{T}_id_seq_new', (SELECT max(id) FROM {OLD}))",
        f"ALTER TABLE {OLD} ALTER COLUMN id DROP IDENTITY",
        f"ALTER SEQUENCE {T}_id_seq_new RENAME TO {T}_id_seq",
        f"CREATE TABLE {T} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (created_at)",
        f"ALTER TABLE {T} DROP CONSTRAINT movement_before_cutover",
        f"ALTER TABLE {T} ALTER COLUMN id SET DEFAULT nextval('{T}_id_seq')",
        f"ALTER SEQUENCE {T}_id_seq OWNED BY {T}.id",
        f"ALTER TABLE ONLY {T} ADD CONSTRAINT {T}_pkey PRIMARY KEY (id, created_at)",
        *(f"CREATE INDEX {name} ON ONLY {T} {cols}" for name, cols in INDEXES.items()),
        *(f"CREATE INDEX {name} ON ONLY {T} ({col}) WHERE {col} IS NOT NULL" for name, col in PARTIAL.items()),
        # The validated CHECK proves the bound, so attaching does not scan the old rows; the old table's indexes
        # (the unique one on the key included) become the partition's, matched by definition, not rebuilt.
        f"ALTER TABLE {T} ATTACH PARTITION {OLD} FOR VALUES FROM (MINVALUE) TO ('{cutover}')",
        *(f"CREATE TABLE {T}_{start[:7].replace('-', '_')} PARTITION OF {T} FOR VALUES FROM ('{start}') TO ('{end}')"
          for start, end in months),
    ]
    out.append(("the switch, one transaction under ACCESS EXCLUSIVE", False, ";\n".join(window)))
    # The movement's own foreign keys (to item, location, user, transfer) stay on the old partition and are
    # declared on the parent afterwards (PostgreSQL attaches the old partition's equal constraints, no scan).
    for column, target in (("stock_item_id", "inventory_stockitem"), ("stock_location_id", "inventory_stocklocation"),
                           ("created_by_id", "accounts_user"), ("transfer_id", "inventory_stocktransfer")):
        out.append((f"foreign key {column} on the parent", False,
                    f"ALTER TABLE {T} ADD FOREIGN KEY ({column}) REFERENCES {target} (id) "
                    "DEFERRABLE INITIALLY DEFERRED"))
    return out


def month_bounds(start: datetime, count: int) -> list[tuple[str, str]]:
    out, year, month = [], start.year, start.month
    for _ in range(count):
        nyear, nmonth = (year + 1, 1) if month == 12 else (year, month + 1)
        out.append((f"{year:04d}-{month:02d}-01", f"{nyear:04d}-{nmonth:02d}-01"))
        year, month = nyear, nmonth
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--source", default="stockroom_d14_bench")
    parser.add_argument("--copy", default="stockroom_d14_bench_part")
    parser.add_argument("--keep", action="store_true", help="keep the partitioned copy (dropped by default)")
    args = parser.parse_args(argv)
    if "bench" not in args.copy:
        raise SystemExit("the copy is dropped and re-created: its name must contain 'bench'")
    with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(args.copy)))
        started = time.perf_counter()
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(args.copy),
                                                                       sql.Identifier(args.source)))
        print(f"copy of {args.source}: {time.perf_counter() - started:.1f} s")
    url = f"{args.server}/{args.copy}"
    now = datetime.now(UTC)
    months = month_bounds(now, 4)
    cutover, months = months[1][0], months[1:]  # the existing table holds everything before next month
    with psycopg.connect(url, autocommit=True) as conn:
        rows, size = conn.execute(f"SELECT count(*), pg_size_pretty(pg_total_relation_size('{T}')) FROM {T}").fetchone()
        checksum = conn.execute(f"SELECT sum(quantity), max(id) FROM {T}").fetchone()
        print(f"{T}: {rows} rows, {size} with indexes; cutover {cutover}")
        for what, online, statement in steps(cutover, months):
            started = time.perf_counter()
            if online:
                conn.execute(statement)
            else:
                with conn.transaction():
                    for part in statement.split(";\n"):
                        conn.execute(part)
            print(f"{'online' if online else 'locked'} {time.perf_counter() - started:7.3f} s  {what}")
        assert conn.execute(f"SELECT sum(quantity), max(id) FROM {T}").fetchone() == checksum
        parts = conn.execute(f"SELECT count(*) FROM pg_inherits WHERE inhparent = '{T}'::regclass").fetchone()[0]
        print(f"partitioned: {parts} partitions, the same {rows} rows and checksum")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-only-not-secret"}

    def manage(*command: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=1800)
        if done.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done.stdout

    # The ledger's locations (the floor's bare rows, FLOOR-*, carry no running figures by design).
    with psycopg.connect(url) as conn:
        codes = [c for (c,) in conn.execute("SELECT code FROM inventory_stocklocation WHERE code LIKE 'BENCH-%%' "
                                            "ORDER BY code")]
    started = time.perf_counter()
    for code in codes:
        manage("recount", "--deep", "--location", code)
    print(f"recount --deep of {', '.join(codes)} on the partitioned table: no drift "
          f"({time.perf_counter() - started:.1f} s)")
    manage("shell", "-c", "from inventory.models import StockItem; from inventory import services; "
           "item = StockItem.objects.filter(stock_location__code__startswith='BENCH-').order_by('pk').first(); "
           "services.receive(item, 5, value_per_unit=2)")
    with psycopg.connect(url, autocommit=True) as conn:
        where = conn.execute(f"SELECT tableoid::regclass, id FROM {T} ORDER BY id DESC LIMIT 1").fetchone()
        print(f"a movement written through the services: id {where[1]} in {where[0]}")
        conn.execute(f"INSERT INTO {T} (stock_item_id, stock_location_id, quantity, action, movement_date, "
                     "unit_cost_fixed, resource_type, resource_id, caused_by_order_no, caused_by_resource_id, notes, "
                     f"created_at) SELECT stock_item_id, stock_location_id, 1, 'received', '{months[0][0]}', false, "
                     f"'', '', '', '', '', '{months[0][0]} 12:00+00' FROM {T} LIMIT 1")
        where = conn.execute(f"SELECT tableoid::regclass FROM {T} ORDER BY id DESC LIMIT 1").fetchone()[0]
        print(f"a movement recorded after the cutover: in {where}")
        plan = conn.execute(f"EXPLAIN SELECT * FROM {T} WHERE created_at >= '{months[0][0]}' "
                            "ORDER BY created_at DESC LIMIT 50").fetchall()
        partitions = {r for (r,) in conn.execute(f"SELECT inhrelid::regclass::text FROM pg_inherits "
                                                  f"WHERE inhparent = '{T}'::regclass")}
        print("the feed's newest page reads only:", sorted({w for (line,) in plan for w in line.split()} & partitions))
        attached = conn.execute(f"SELECT count(*) FILTER (WHERE conparentid <> 0), count(*) FROM pg_constraint "
                                f"WHERE conrelid = '{OLD}'::regclass AND contype = 'f'").fetchone()
        print(f"foreign keys of the old partition attached to the parent's (not duplicated): {attached[0]} of "
              f"{attached[1]}")
    if not args.keep:
        with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(args.copy)))


if __name__ == "__main__":
    main()
