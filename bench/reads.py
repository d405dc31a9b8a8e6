"""Read-path measurements, in process: server time (the whole Django handler, no network) and the SQL of
each request, against the bench database. Needs Django set up by the caller."""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass, field

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


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
