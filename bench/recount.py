"""Recount against the bare GROUP BY (and the window that checks every row) on the same table, same run."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench import db
from bench.commands import manage

GROUP_BY = "SELECT stock_item_id, SUM(quantity) FROM inventory_stockmovement GROUP BY stock_item_id"
# What checking every row's running figures costs at least: one window over the whole ledger.
WINDOW = """SELECT stock_item_id, SUM(CASE WHEN balance_after <> eb OR "rank" <> er THEN 1 ELSE 0 END)
FROM (SELECT m.stock_item_id, f.balance_after, f."rank",
             SUM(m.quantity) OVER w AS eb, ROW_NUMBER() OVER w AS er
      FROM inventory_stockmovement m JOIN inventory_movementfigures f ON f.movement_id = m.id
      WINDOW w AS (PARTITION BY m.stock_item_id ORDER BY m.movement_date, m.id)) r
GROUP BY stock_item_id"""



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
