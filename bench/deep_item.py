"""The deep item: corrections on one stock item with a long history, over HTTP, beside the full rebuild.

For each size (100,000 and 1,000,000 movements on one item at full scale), `bench_data` makes the item (a
year of history) and a shallow one (10 movements). the app server serves them with one worker, so that the
worker's peak RSS is the correction's. Each correction is a Spree request against the deep item:
appends (beside the same POST on the shallow item), receipts backdated by 1 hour, 1 day, 30 days and
300 days and their deletion, an edit of the newest and of the oldest movement, a date move, and
`recount --fix` of the item with one figure corrupted half-way; the reference is the full rebuild of the
item (`services.rebuild`), timed in process in the same run. The request limit (STOCKROOM_MAX_REPOST) and
the statement timeout are lifted for this server: it measures the engine on tails a request may not repost.
"""

from __future__ import annotations

import json
import statistics
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import db
from bench.load import Server

TARGETS = {"small_tail_s": 0.3, "small_tail": 100, "backdate_300_s": 5.0, "append_ratio": 1.5, "rss_mib": 150}
APPENDS = 15


@dataclass
class Correction:
    name: str
    seconds: float
    tail: int  # movements at or after the correction's start
    status: int
    rss_growth_kib: int  # the worker's peak during the request less its RSS before it


@dataclass
class DeepResult:
    movements: int
    corrections: list[Correction] = field(default_factory=list)
    append_deep_ms: float = 0.0
    append_shallow_ms: float = 0.0
    rebuild_seconds: float = 0.0
    recount_fix_seconds: float = 0.0
    recount_fix_rows: int = 0

    @property
    def append_ratio(self) -> float:
        return self.append_deep_ms / self.append_shallow_ms if self.append_shallow_ms else 0.0


def worker_memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            name, amount = line.split(":")
            values[name] = int(amount.split()[0])
    return values["VmRSS"], values["VmHWM"]


class Client:
    def __init__(self, base: str, api_key: str) -> None:
        self.base, self.key = base, api_key

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, float, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.key}", "Content-Type": "application/json"})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=900) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        seconds = time.perf_counter() - started
        try:
            return status, seconds, json.loads(payload or b"{}")
        except ValueError:
            return status, seconds, {}


def bench_deep(sizes: list[int], env: dict, url: str, port: int, api_key: str, work: Path, log) -> list[DeepResult]:
    from bench.commands import checked

    results = []
    for size in sizes:
        log(f"deep item: {size:,} movements on one item")
        prefix = f"DEEP{size}"
        checked(env, "bench_data", "--movements", str(size), "--items", "1", "--locations", "1", "--prefix", prefix,
                timeout=3600)
        checked(env, "bench_data", "--movements", "10", "--items", "1", "--locations", "1", "--prefix",
                f"SHALLOW{size}")
        server_env = {**env, "STOCKROOM_MAX_REPOST": "0", "DB_STATEMENT_TIMEOUT_MS": "0"}
        with Server(port, 1, server_env, work / f"deep-{size}.log") as server:
            results.append(_measure(size, prefix, Client(server.base, api_key), server, url, env, log))
    return results


def _item(url: str, prefix: str) -> tuple[int, int]:
    """(stock item id, location id) of the one item `bench_data --prefix` made."""
    return db.row(url, "SELECT i.id, i.stock_location_id FROM inventory_stockitem i JOIN inventory_stocklocation l"
                       " ON l.id = i.stock_location_id WHERE l.code LIKE %s", [f"{prefix}-%"])


def _tail(url: str, item: int, since: datetime) -> int:
    return db.scalar(url, "SELECT count(*) FROM inventory_stockmovement WHERE stock_item_id = %s"
                          " AND movement_date >= %s", [item, since])


def _measure(size: int, prefix: str, client: Client, server: Server, url: str, env: dict, log) -> DeepResult:
    from bench.commands import manage

    result = DeepResult(size)
    deep, location = _item(url, prefix)
    shallow, shallow_location = _item(url, f"SHALLOW{size}")
    worker = server.worker_pids()[0]
    movements = f"/api/v1/stock_locations/{location}/stock_movements"

    def receipt(item: int, where: str, when: datetime | None = None) -> dict:
        fields = {"stock_item_id": item, "quantity": 5, "action": "received", "value_per_unit": "3.25"}
        if when is not None:
            fields["movement_date"] = when.isoformat()
        return {"stock_movement": fields}

    def timed(name: str, method: str, path: str, body: dict | None, tail: int) -> dict:
        rss, _ = worker_memory(worker)
        status, seconds, payload = client.call(method, path, body)
        _, peak = worker_memory(worker)
        result.corrections.append(Correction(name, seconds, tail, status, max(0, peak - rss)))
        log(f"  {name}: {status} in {seconds:.2f}s (tail {tail:,})")
        return payload

    deep_times, shallow_times = [], []
    for _ in range(APPENDS):  # alternated, so both see the same moments of the machine
        shallow_times.append(client.call("POST", f"/api/v1/stock_locations/{shallow_location}/stock_movements",
                                         receipt(shallow, ""))[1])
        deep_times.append(client.call("POST", movements, receipt(deep, ""))[1])
    result.append_deep_ms = statistics.median(deep_times) * 1000
    result.append_shallow_ms = statistics.median(shallow_times) * 1000

    now = datetime.now(UTC)
    for label, back in (("1 hour", timedelta(hours=1)), ("1 day", timedelta(days=1)),
                        ("30 days", timedelta(days=30)), ("300 days", timedelta(days=300))):
        when = now - back
        tail = _tail(url, deep, when)
        created = timed(f"backdate by {label}", "POST", movements, receipt(deep, "", when), tail)
        timed(f"delete it (backdated by {label})", "DELETE", f"{movements}/{created.get('id')}", None, tail)

    newest, newest_quantity = db.row(url, "SELECT id, quantity FROM inventory_stockmovement WHERE stock_item_id = %s"
                                          " ORDER BY movement_date DESC, id DESC LIMIT 1", [deep])
    timed("edit newest (quantity)", "PUT", f"{movements}/{newest}",
          {"stock_movement": {"quantity": newest_quantity + (1 if newest_quantity > 0 else -1)}}, 1)
    oldest, oldest_quantity = db.row(url, "SELECT id, quantity FROM inventory_stockmovement WHERE stock_item_id = %s"
                                          " ORDER BY movement_date, id LIMIT 1", [deep])
    timed("edit oldest (quantity)", "PUT", f"{movements}/{oldest}",
          {"stock_movement": {"quantity": oldest_quantity + 1}}, _tail(url, deep, datetime(1970, 1, 1, tzinfo=UTC)))
    moved = db.scalar(url, "SELECT id FROM inventory_stockmovement WHERE stock_item_id = %s AND movement_date < %s"
                           " ORDER BY movement_date DESC LIMIT 1", [deep, now - timedelta(days=200)])
    timed("date move (200 to 100 days ago)", "PUT", f"{movements}/{moved}",
          {"stock_movement": {"movement_date": (now - timedelta(days=100)).isoformat()}},
          _tail(url, deep, now - timedelta(days=200)))

    # One figure corrupted half-way: recount --fix finds the item and reposts it from there.
    middle = db.scalar(url, "SELECT id FROM inventory_stockmovement WHERE stock_item_id = %s"
                            " ORDER BY movement_date, id OFFSET %s LIMIT 1", [deep, size // 2])
    db.execute(url, "UPDATE inventory_movementfigures SET balance_after = balance_after + 1 WHERE movement_id = %s",
               [middle])
    result.recount_fix_rows = size - size // 2
    seconds, code, _, output = manage(env, "recount", "--fix", "--location", f"{prefix}-L{location}")
    if code != 0:
        raise SystemExit(f"recount --fix of the deep item failed ({code}):\n{output[-2000:]}")
    result.recount_fix_seconds = seconds
    result.rebuild_seconds = _rebuild_seconds(deep)
    log(f"  full rebuild (reference): {result.rebuild_seconds:.2f}s; recount --fix {seconds:.2f}s")
    return result


def _rebuild_seconds(item_id: int) -> float:
    """The reference full rebuild of the item, in process, in its own transaction."""
    from django.db import transaction

    from inventory.services.locking import lock_item
    from inventory.services.rebuild import rebuild_with_dependents

    started = time.perf_counter()
    with transaction.atomic():
        rebuild_with_dependents(lock_item(item_id))
    return time.perf_counter() - started


def render(results: list[DeepResult]) -> list[str]:
    """The deep item's section of RESULTS.md."""
    if not results:
        return []
    out = ["", "## Deep item: corrections cost what they touch", "",
           "One stock item with a year of history; each correction is one Spree request to the app server (1",
           "worker, PostgreSQL); `tail` is how many movements it reposts. The full rebuild of the item (the",
           "reference implementation, in process) and `manage.py recount --fix` (wall time, one figure",
           "corrupted half-way) were timed in the same run. RSS growth is the worker's peak during the request",
           "less its RSS before it.", "",
           "| history | request | status | tail | seconds | x full rebuild | RSS growth |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        for c in r.corrections:
            ratio = c.seconds / r.rebuild_seconds if r.rebuild_seconds else 0.0
            out.append(f"| {r.movements:,} | {c.name} | {c.status} | {c.tail:,} | {c.seconds:.3f} | {ratio:.3f} | "
                       f"{c.rss_growth_kib / 1024:.0f} MiB |")
        out.append(f"| {r.movements:,} | full rebuild (reference) | | {r.movements:,} | {r.rebuild_seconds:.2f} | 1 "
                   "| |")
        out.append(f"| {r.movements:,} | recount --fix (command) | | {r.recount_fix_rows:,} | "
                   f"{r.recount_fix_seconds:.2f} | {r.recount_fix_seconds / r.rebuild_seconds:.2f} | |")
        out.append(f"| {r.movements:,} | append, deep / shallow item (median of {APPENDS}) | | 1 | "
                   f"{r.append_deep_ms:.1f} / {r.append_shallow_ms:.1f} ms ({r.append_ratio:.2f}x) | | |")
    return out


def summary(results: list[DeepResult]) -> list[tuple[str, str, str, bool]]:
    """(measure, figure, target, met) rows for RESULTS.md's summary."""
    rows = []
    for r in results:
        small = [c for c in r.corrections if c.tail < TARGETS["small_tail"]]
        if small:
            worst = max(c.seconds for c in small)
            rows.append((f"correction with a tail under {TARGETS['small_tail']}, {r.movements:,} history: slowest",
                         f"{worst:.3f} s", f"< {TARGETS['small_tail_s']} s", worst < TARGETS["small_tail_s"]))
        rows.append((f"append on a {r.movements:,}-movement item / shallow item", f"{r.append_ratio:.2f}x",
                     f"<= {TARGETS['append_ratio']}x", r.append_ratio <= TARGETS["append_ratio"]))
        backdate = next((c for c in r.corrections if c.name == "backdate by 300 days"), None)
        if backdate and r.movements <= 100_000:
            rows.append((f"300-day backdate at {r.movements:,} (tail {backdate.tail:,})", f"{backdate.seconds:.2f} s",
                         f"< {TARGETS['backdate_300_s']} s",
                         backdate.status == 201 and backdate.seconds < TARGETS["backdate_300_s"]))
        if r.movements >= 1_000_000:
            worst = max(c.rss_growth_kib for c in r.corrections) / 1024
            rows.append((f"worker RSS growth, corrections at {r.movements:,}", f"{worst:.0f} MiB",
                         f"< {TARGETS['rss_mib']} MiB", worst < TARGETS["rss_mib"]))
    return rows
