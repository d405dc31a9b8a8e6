"""Read-path measurements, in process: server time (the whole Django handler, no network) and the SQL of
each request, against the bench database. Needs Django set up by the caller."""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

if TYPE_CHECKING:
    from bench.run import Scale


@dataclass
class ReadResult:
    name: str
    path: str
    params: dict
    status: int = 0
    requests: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    max_ms: float = 0.0
    queries: int = 0
    summary: str = ""
    error: str = ""  # set when the request could not be measured (e.g. the route answered an error)
    plans: list[tuple[str, str, float]] = field(default_factory=list)  # (sql, plan, execution ms)

    @property
    def url(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.path}?{query}" if query else self.path


def one_line(content: bytes) -> str:
    return " ".join(content[:300].decode(errors="replace").split())


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def measure(client: Client, name: str, path: str, params_for, *, requests: int, warmup: int = 5,
            budget: float = 60.0, summarize=None, explain: bool = True, seed: int = 3) -> ReadResult:
    """Time `requests` GETs (after `warmup`), each with the params `params_for(rng)` returns, count the
    queries of one of them, and EXPLAIN (ANALYZE, BUFFERS) every SELECT it ran.

    A slow endpoint stops after `budget` seconds once it has 20 samples, so the run stays bounded."""
    rng = random.Random(seed)
    for _ in range(warmup):
        client.get(path, params_for(rng))
    params = params_for(rng)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    # Read now: the next request's request_started signal empties the connection's query log.
    statements = [q["sql"] for q in captured.captured_queries]
    if response.status_code != 200:
        return ReadResult(name=name, path=path, params=params, status=response.status_code,
                          error=f"answered {response.status_code}: {one_line(response.content)}")
    summary = summarize(response.json()) if summarize else ""
    times: list[float] = []
    stop_at = time.perf_counter() + budget
    for _ in range(requests):
        if len(times) >= 20 and time.perf_counter() > stop_at:
            break
        request_params = params_for(rng)
        started = time.perf_counter()
        answer = client.get(path, request_params)
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            return ReadResult(name=name, path=path, params=request_params, status=answer.status_code,
                              error=f"answered {answer.status_code}: {one_line(answer.content)}")
    result = ReadResult(name=name, path=path, params=params, status=response.status_code, requests=len(times),
                        p50_ms=statistics.median(times), p95_ms=percentile(times, 95), max_ms=max(times),
                        queries=len(statements), summary=summary)
    if explain:
        result.plans = explain_all(statements)
    return result


def explain_all(statements: list[str]) -> list[tuple[str, str, float]]:
    plans = []
    with connection.cursor() as cursor:
        for sql in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            lines = [row[0] for row in cursor.fetchall()]
            execution = next((float(line.split(":")[1].split()[0]) for line in lines
                              if line.startswith("Execution Time")), 0.0)
            plans.append((sql, "\n".join(lines), execution))
    return plans


def count_queries(client: Client, method: str, path: str, body: dict) -> tuple[int, int, list[str]]:
    """(status, number of queries, their SQL) of one request, e.g. a single movement POST."""
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(path, body, content_type="application/json")
    return response.status_code, len(captured.captured_queries), [q["sql"] for q in captured.captured_queries]


def bench_reads(scale: Scale, api_key: str) -> list:
    from django.test import Client

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
