"""Where a single Spree movement POST spends its CPU, in process (no HTTP server, no other clients).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/stockroom_profile python -m bench.profile_post [--requests 400]

The throttle is the production one (the admin key's rate); set STOCKROOM_THROTTLE_RATE high enough for the run.

Migrates and seeds the database (seed_demo), then POSTs sales and receipts through Django's full request
stack (middleware, DRF, key authentication, throttles, services, rendering) with the test client, and
prints the Python CPU per request and the share of each stage (cProfile's cumulative time of the stage's
entry point, scaled to the unprofiled CPU). bench/FINDINGS.md quotes its output.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time

import django

# (label, file fragment, function): cumulative time of these entry points, in the order a request reaches them.
STAGES = [
    ("whole request (handler + middleware)", "django/core/handlers/base.py", "get_response"),
    ("DRF dispatch (below the middleware)", "rest_framework/views.py", "dispatch"),
    ("request wrapping (initialize_request)", "rest_framework/views.py", "initialize_request"),
    ("authentication, permissions, throttles (initial)", "rest_framework/views.py", "initial"),
    ("  authentication", "rest_framework/request.py", "_authenticate"),
    ("  permissions", "rest_framework/views.py", "check_permissions"),
    ("  throttles", "rest_framework/views.py", "check_throttles"),
    ("idempotency wrapper (whole create)", "inventory/api/common/idempotency.py", "wrapper"),
    ("body parsing and validation (parse)", "inventory/api/spree/viewsets/base.py", "parse"),
    ("  JSON parsing (request.data)", "rest_framework/request.py", "_load_data_and_files"),
    ("service: record_movement (lock, value, write, commit excluded)", "inventory/services/movements.py",
     "record_movement"),
    ("rendering the 201 (render)", "inventory/api/spree/viewsets/base.py", "render"),
    ("response rendering (finalize_response + render)", "rest_framework/views.py", "finalize_response"),
    ("commit", "django/db/backends/base/base.py", "commit"),
    ("database driver: execute (all statements)", "psycopg/cursor.py", "execute"),
]


def setup() -> tuple[object, str, int, int]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-profile-only")
    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from inventory.models import StockItem

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    item = StockItem.objects.filter(stock_location__code="MAIN").order_by("pk").first()
    return Client(HTTP_HOST="127.0.0.1"), "sr_demo_admin_key", item.stock_location_id, item.pk


def post(client, key: str, location: int, item: int, n: int) -> None:
    body = {"stock_movement": {"stock_item_id": item, "quantity": 1, "action": "received"}}
    response = client.post(f"/api/v1/stock_locations/{location}/stock_movements", body,
                           content_type="application/json", HTTP_X_SPREE_TOKEN=key)
    assert response.status_code == 201, (response.status_code, response.content[:300])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    client, key, location, item = setup()
    for n in range(50):  # warm: prepared statements, key cache, imports
        post(client, key, location, item, n)
    started, wall = time.process_time(), time.perf_counter()
    for n in range(args.requests):
        post(client, key, location, item, n)
    cpu_ms = (time.process_time() - started) * 1000 / args.requests
    wall_ms = (time.perf_counter() - wall) * 1000 / args.requests
    profile = cProfile.Profile(time.process_time)  # CPU, like the figure it apportions
    profile.enable()
    for n in range(args.requests):
        post(client, key, location, item, n)
    profile.disable()
    stats = pstats.Stats(profile).stats
    total = sum(v[2] for v in stats.values())  # (calls, primitive calls, own time, cumulative, callers)
    print(f"Python CPU per POST {cpu_ms:.2f} ms (wall {wall_ms:.2f} ms, incl. the database) over {args.requests}")
    print(f"{'stage':<66} {'share':>6} {'ms':>6}")
    for label, fragment, function in STAGES:
        cumulative = sum(v[3] for (file, _, name), v in stats.items() if name == function and fragment in file)
        print(f"{label:<66} {cumulative / total:6.0%} {cumulative / total * cpu_ms:6.2f}")
    if os.environ.get("PROFILE_TOP"):
        pstats.Stats(profile).sort_stats("tottime").print_stats(int(os.environ["PROFILE_TOP"]))
    if os.environ.get("PROFILE_CALLERS"):
        pstats.Stats(profile).print_callers(os.environ["PROFILE_CALLERS"])


if __name__ == "__main__":
    main()
