"""Security checks: API keys stay secret, a viewer cannot write anywhere, the admin wants its CSRF token,
and search parameters never become SQL."""

from __future__ import annotations

import ast
import hashlib
import logging
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import ApiKey, Role
from inventory import services
from inventory.models import StockItem, StockLocation, StockMovement
from inventory.services.allocations import allocate
from tests.factories import ProductFactory, StockLocationFactory, UserFactory, VariantFactory
from tests.robustness import routes
from tests.tables import project_models

ROOT = Path(__file__).resolve().parents[2]
WRITE_METHODS = ("post", "put", "patch", "delete")


@pytest.fixture
def ledger(db):
    """A small catalogue with a ledger at two locations, and an allocation."""
    main = StockLocationFactory(code="MAIN", propagate_all_variants=True)
    shop = StockLocationFactory(code="SHOP", propagate_all_variants=True)
    product = ProductFactory(slug="ror-tote")
    variant = VariantFactory(product=product, sku="ROR-00011")
    item = StockItem.objects.get(stock_location=main, variant=variant)
    movement = services.receive(item, 20, value_per_unit=Decimal("4"))
    services.sell(item, 2)
    services.transfer(main, shop, [(variant, 3)])
    allocation = allocate(item, 1)
    return {"main": main, "shop": shop, "product": product, "variant": variant, "item": item,
            "movement": movement, "allocation": allocation}


def issue(role: str, **user_fields) -> tuple[APIClient, str, ApiKey]:
    user = UserFactory(role=role, **user_fields)
    key, raw = ApiKey.issue(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client, raw, key


# --- API keys: hashed at rest, never shown or logged again ----------------------------------------------


def test_keys_are_stored_as_sha256_hex_never_raw(db):
    _client, raw, key = issue(Role.ADMIN)
    table = connection.ops.quote_name(ApiKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [key.pk])
        stored = dict(zip([c[0] for c in cursor.description], cursor.fetchone(), strict=True))
    assert re.fullmatch(r"[0-9a-f]{64}", stored["hashed_key"])
    assert stored["hashed_key"] == hashlib.sha256(raw.encode()).hexdigest()
    # Only an 8-character lookup prefix of the key is kept in clear; the key itself is in no column.
    assert all(raw not in str(value) for value in stored.values())
    assert len(raw) >= 40


def test_create_api_key_prints_the_key_once_and_stores_only_its_hash(db, capsys):
    call_command("create_api_key", "robot", "--create-user", "--role", "viewer")
    raw = capsys.readouterr().out.strip()
    key = ApiKey.objects.get(user__username="robot")
    assert key.hashed_key == hashlib.sha256(raw.encode()).hexdigest()
    assert ApiKey.lookup(raw) == key


def test_the_admin_never_shows_a_key_or_its_hash(db, ledger):
    _client, raw, key = issue(Role.VIEWER)
    admin = UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(admin)
    pages = [
        "/admin/accounts/apikey/",
        f"/admin/accounts/apikey/{key.pk}/change/",
        f"/admin/accounts/apikey/?q={key.prefix}",
        f"/admin/accounts/user/{key.user_id}/change/",
        f"/admin/accounts/apikey/{key.pk}/history/",
    ]
    for page in pages:
        response = browser.get(page)
        assert response.status_code == 200, page
        body = response.content.decode()
        assert raw not in body, page
        assert key.hashed_key not in body, page
    # Keys are issued on a terminal (create_api_key), where the raw key is shown once; never in the admin.
    assert browser.get("/admin/accounts/apikey/add/").status_code == 403


def test_no_api_response_carries_a_key_or_its_hash(db, ledger):
    client, raw, key = issue(Role.ADMIN)
    paths = [path for path, _catch_all, _methods in api_routes(ledger)]
    assert len(paths) > 30
    for path in paths:
        response = client.get(path)
        text = response.content.decode(errors="replace") + repr(sorted(response.items()))
        assert raw not in text, path
        assert key.hashed_key not in text, path


def test_keys_never_reach_the_logs_or_the_sql(db, ledger, caplog):
    """Every log record (SQL included: capturing queries turns on the debug cursor, which logs each
    statement) of authenticated requests that succeed, fail validation, are forbidden, are refused for a
    wrong key, or crash nowhere contain a raw key."""
    viewer, viewer_raw, _ = issue(Role.VIEWER)
    admin, admin_raw, _ = issue(Role.ADMIN)
    wrong_raw = admin_raw[:8] + "x" * (len(admin_raw) - 8)  # right prefix, wrong key
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION=f"Bearer {wrong_raw}")
    spree_token = APIClient()
    spree_token.credentials(HTTP_X_SPREE_TOKEN=admin_raw)
    movements = f"/api/v1/stock_locations/{ledger['main'].pk}/stock_movements"

    caplog.set_level(logging.DEBUG)
    with CaptureQueriesContext(connection) as queries:
        assert admin.get(movements).status_code == 200
        assert spree_token.get("/api/v1/inventory_movements").status_code == 200
        assert admin.post(movements, {"stock_movement": {"quantity": "x"}}, format="json").status_code == 422
        assert viewer.post(movements, {}, format="json").status_code == 403
        assert wrong.get(movements).status_code == 401
        assert wrong.get("/api/v1/inventory").status_code == 401
        assert admin.get("/api/v1/nothing-here").status_code == 404
        assert admin.get(f"{movements}?q[password_eq]=1").status_code == 422

    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "Unauthorized" in logged  # the 401s really were logged (by django.request)
    assert len(queries) > 0 and any("hashed_key" in q["sql"] for q in queries)
    sql = "\n".join(q["sql"] for q in queries)
    for secret in (viewer_raw, admin_raw, wrong_raw):
        assert secret not in logged
        assert secret not in sql


# --- a viewer cannot write anything, anywhere ----------------------------------------------------------


def api_routes(ledger) -> list[tuple[str, bool, frozenset[str] | None]]:
    """Every route under /api/ in the URLconf (tests/robustness/routes.py), as (path with real ids,
    whether it is a catch-all for unknown paths, the HTTP methods its view serves or None)."""
    values = {
        "location_id": str(ledger["main"].pk),
        "item_id": str(ledger["item"].pk),
        "movement_id": str(ledger["movement"].pk),
        "product_id": str(ledger["product"].pk),
        "variant_id": str(ledger["variant"].pk),
        "pk": str(ledger["allocation"].pk),
    }
    return [(route.fill(values), route.catch_all, route.methods) for route in routes.api_routes()]


def every_row() -> dict[str, list]:
    """All rows of every inventory and accounts table (ApiKey.last_used aside: authenticating stamps it)."""
    out = {}
    for model in project_models():
        rows = model.objects.order_by("pk").values()
        if model is ApiKey:
            rows = rows.values(*[f.attname for f in model._meta.concrete_fields if f.name != "last_used"])
        out[model._meta.label] = list(rows)
    return out


def universal_body(ledger) -> dict:
    """One body that every write route of every family would accept from a role allowed to write: the
    Spree wrappers, the warehouse fields, a bulk adjustment. Used to show that only the role stops it."""
    variant, main, item = ledger["variant"], ledger["main"], ledger["item"]
    return {
        "product": {"name": "Intruder", "price": "1.00", "sku": "INTRUDER-1"},
        "variant": {"sku": "INTRUDER-2", "price": "1.00"},
        "stock_location": {"name": "Intruder", "code": "INTRUDER"},
        "stock_item": {"variant_id": variant.pk, "count_on_hand": 7, "backorderable": True},
        "stock_movement": {"quantity": 1, "stock_item_id": item.pk, "action": "received"},
        "product_id": variant.pk,
        "warehouse_id": main.pk,
        "movement_type": "in",
        "quantity": 1,
        "reference_type": "order",
        "reference_id": "R1",
        "adjustments": [{"product_id": variant.pk, "warehouse_id": main.pk, "actual_quantity": 99,
                         "reason": "intrusion"}],
    }


def test_the_universal_body_does_write_for_roles_that_may(db, ledger):
    """Control for the next test: the same body is a real write for a manager."""
    manager, _raw, _key = issue(Role.MANAGER)
    body = universal_body(ledger)
    before = StockMovement.objects.count()
    assert manager.post(f"/api/v1/stock_locations/{ledger['main'].pk}/stock_movements", body,
                        format="json").status_code == 201
    assert manager.post("/api/v1/inventory/movements", body, format="json").status_code == 201
    assert manager.post("/api/v1/inventory/adjustments", body, format="json").status_code == 201
    assert StockMovement.objects.count() == before + 3


def test_a_viewer_cannot_write_on_any_route(db, ledger):
    viewer, _raw, _key = issue(Role.VIEWER)
    body = universal_body(ledger)
    before = every_row()
    routes = api_routes(ledger)
    families = {path.split("/")[3] if path.startswith("/api/v1/") else "api" for path, _, _ in routes}
    assert {"products", "stock_locations", "inventory", "inventory_movements", "movements"} <= families

    answers = {}
    for path, catch_all, methods in routes:
        for method in WRITE_METHODS:
            response = getattr(viewer, method)(path, body, format="json")
            answers[(method.upper(), path)] = response.status_code
            if catch_all:
                # A path no route serves: nothing to write to; refused or not found, in the family's envelope.
                assert response.status_code in (403, 404), (method, path, response.content)
            elif methods is not None and method not in methods:
                assert response.status_code in (403, 405), (method, path, response.status_code)
            else:
                assert response.status_code == 403, (method, path, response.status_code, response.content)
            if not path.startswith(("/api/schema/", "/api/docs/")):  # those two serve documents, not JSON
                assert response["Content-Type"].startswith("application/json"), (method, path)

    assert every_row() == before
    # The routes that do take writes were all met (and refused).
    refused = {key for key, status in answers.items() if status == 403}
    assert ("POST", f"/api/v1/stock_locations/{ledger['main'].pk}/stock_movements") in refused
    assert ("POST", "/api/v1/inventory/adjustments") in refused
    assert ("DELETE", f"/api/stock_locations/{ledger['main'].pk}/stock_movements/{ledger['movement'].pk}") in refused


def test_every_write_route_refuses_a_missing_key(db, ledger):
    anonymous = APIClient()
    before = every_row()
    for path, catch_all, methods in api_routes(ledger):
        if catch_all or methods is None or path.startswith(("/api/schema", "/api/docs")):
            continue
        for method in WRITE_METHODS:
            if method in methods:
                response = getattr(anonymous, method)(path, universal_body(ledger), format="json")
                assert response.status_code == 401, (method, path, response.status_code)
    assert every_row() == before


# --- CSRF ------------------------------------------------------------------------------------------------------


@pytest.fixture
def staff_browser(db):
    admin = UserFactory(username="boss", role=Role.ADMIN, is_staff=True, is_superuser=True)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin)
    return browser


def _csrf_token(browser: Client, page: str) -> str:
    response = browser.get(page)
    assert response.status_code == 200
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)


def test_admin_add_without_csrf_token_is_refused(staff_browser):
    form = {"name": "Forged", "code": "FORGED", "active": "on"}
    response = staff_browser.post("/admin/inventory/stocklocation/add/", form)
    assert response.status_code == 403
    assert not StockLocation.objects.filter(code="FORGED").exists()
    # The same form with the page's token goes through: it was the token that was missing.
    token = _csrf_token(staff_browser, "/admin/inventory/stocklocation/add/")
    response = staff_browser.post("/admin/inventory/stocklocation/add/", {**form, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert StockLocation.objects.filter(code="FORGED").exists()


def test_admin_change_and_actions_without_csrf_token_are_refused(staff_browser, ledger):
    before = every_row()
    main, item = ledger["main"], ledger["item"]
    change = staff_browser.post(f"/admin/inventory/stocklocation/{main.pk}/change/",
                                {"name": "Renamed", "active": "on"})
    receive = staff_browser.post("/admin/inventory/stockitem/", {
        "action": "receive_stock", "_selected_action": [item.pk], "apply": "1", "quantity": "5"})
    delete = staff_browser.post("/admin/inventory/stockmovement/", {
        "action": "delete_movements", "_selected_action": [ledger["movement"].pk], "apply": "1", "post": "yes"})
    logout = staff_browser.post("/admin/logout/")
    assert [change.status_code, receive.status_code, delete.status_code, logout.status_code] == [403] * 4
    assert every_row() == before


def test_browsable_api_session_writes_need_the_csrf_token(db, ledger):
    """A logged-in staff member's browser session authenticates the API too; a cross-site POST riding on
    that session (no CSRF token) is refused in the family's envelope."""
    admin = UserFactory(username="chief", role=Role.ADMIN, is_staff=True, is_superuser=True)
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(admin)
    before = every_row()
    body = universal_body(ledger)
    spree = browser.post(f"/api/v1/stock_locations/{ledger['main'].pk}/stock_movements", body, format="json")
    warehouse = browser.post("/api/v1/inventory/movements", body, format="json")
    assert spree.status_code == 403 and spree.json() == {"error": "You are not authorized to perform that action."}
    assert warehouse.status_code == 403 and set(warehouse.json()) == {"error", "details"}
    assert every_row() == before
    assert browser.get("/api/v1/inventory").status_code == 200  # reads need no token


# --- no SQL built from request strings ------------------------------------------------------------------------

MARKER = "zq_injected_zq"
INJECTIONS = [
    f"id) OR 1=1; DROP TABLE {MARKER}; --",
    f"quantity' OR '1'='1' -- {MARKER}",
    f"{MARKER}__password",
    f"stock_item__variant__sku{MARKER}",
    f"quantity\" UNION SELECT hashed_key FROM accounts_apikey -- {MARKER}",
]


def _search(client, path: str, params: dict):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    return response, "\n".join(q["sql"] for q in queries)


@pytest.mark.parametrize("injection", INJECTIONS)
def test_injection_in_a_search_attribute_name_is_refused(db, ledger, injection):
    client, _raw, _key = issue(Role.VIEWER)
    path = f"/api/v1/stock_locations/{ledger['main'].pk}/stock_movements"
    param = f"q[{injection}_eq]"
    response, sql = _search(client, path, {param: "1"})
    assert response.status_code == 422, response.content
    assert param in response.json()["errors"]
    assert MARKER not in sql


@pytest.mark.parametrize("injection", INJECTIONS)
def test_injection_in_a_search_predicate_is_refused(db, ledger, injection):
    client, _raw, _key = issue(Role.VIEWER)
    path = f"/api/v1/stock_locations/{ledger['main'].pk}/stock_items"
    param = f"q[count_on_hand_{injection}]"
    response, sql = _search(client, path, {param: "1"})
    assert response.status_code == 422, response.content
    assert param in response.json()["errors"]
    assert MARKER not in sql


@pytest.mark.parametrize("injection", INJECTIONS)
@pytest.mark.parametrize("shape", ["plain", "with_direction", "after_a_good_sort", "list"])
def test_injection_in_a_sort_is_refused(db, ledger, injection, shape):
    client, _raw, _key = issue(Role.VIEWER)
    path = "/api/v1/products"
    params = {
        "plain": {"q[s]": injection},
        "with_direction": {"q[s]": f"{injection} desc"},
        "after_a_good_sort": {"q[s]": f"name asc, {injection}"},
        "list": {"q[s][]": ["name asc", injection]},
    }[shape]
    response, sql = _search(client, path, params)
    assert response.status_code == 422, response.content
    assert any(key.startswith("q[s]") for key in response.json()["errors"])
    assert MARKER not in sql


def test_names_outside_the_allowlist_are_refused_even_when_they_exist_on_the_model(db, ledger):
    """Real columns and relations that are not in an endpoint's allowlist, and Django's own `__`
    traversal, are unknown to the search: 422, and no query is made for them."""
    client, _raw, _key = issue(Role.VIEWER)
    path = f"/api/v1/stock_locations/{ledger['main'].pk}/stock_movements"
    for param in ["q[created_by_password_eq]", "q[created_by_id_eq]", "q[stock_item__variant__sku_eq]",
                  "q[stock_item_variant_product_variants_sku_eq]", "q[value_in_stock_after_gt]", "q[pk_eq]"]:
        response, sql = _search(client, path, {param: "1"})
        assert response.status_code == 422, (param, response.content)
        assert param in response.json()["errors"], param
        assert not re.search(r'"password"\s*(=|<|>|LIKE|IN|IS)', sql, re.IGNORECASE), sql
    response, _sql = _search(client, path, {"q[s]": "created_by asc"})
    assert response.status_code == 422


def test_injection_text_in_a_search_value_is_only_ever_a_bound_value(db, ledger):
    """Values are data: the search runs, matches nothing, and every table is still there."""
    client, _raw, _key = issue(Role.VIEWER)
    path = f"/api/v1/stock_locations/{ledger['main'].pk}/stock_movements"
    before = StockMovement.objects.count()
    for value in INJECTIONS:
        response = client.get(path, {"q[stock_item_variant_sku_eq]": value, "q[notes_cont]": value})
        assert response.status_code == 200, response.content
        assert response.json()["total_count"] == 0
    assert StockMovement.objects.count() == before
    assert ApiKey.objects.exists()


REQUEST_FACING = ["inventory/api", "inventory/search", "accounts"]
RAW_SQL_CALLS = {"execute", "executemany", "raw", "extra", "RawSQL"}


def test_request_facing_code_builds_no_sql_by_hand():
    """The packages that read requests (API views, the search parser, authentication) go through the
    ORM only: no cursor.execute, Manager.raw, QuerySet.extra or RawSQL anywhere in them."""
    found = []
    for base in REQUEST_FACING:
        for path in sorted((ROOT / base).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                    if name in RAW_SQL_CALLS:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert found == []
