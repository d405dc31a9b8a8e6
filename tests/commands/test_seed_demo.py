"""`seed_demo`: the demo the README's and docs/api.md's examples use, consistent, and idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F, Sum

from accounts.models import ApiKey, Role, User
from inventory.models import (
    Allocation,
    CostLayer,
    Product,
    StockItem,
    StockLocation,
    StockMovement,
    StockTransfer,
    Variant,
)
from tests.tables import project_models

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in project_models()}


def test_seed_is_idempotent():
    seed()
    first = counts()
    snapshot = list(StockMovement.objects.order_by("pk").values_list("pk", "quantity", "figures__balance_after"))
    seed()
    assert counts() == first
    assert list(StockMovement.objects.order_by("pk").values_list("pk", "quantity",
    "figures__balance_after")) == snapshot


def test_seeded_ledger_is_consistent():
    seed()
    for item in StockItem.objects.all():
        movements = list(item.movements.order_by("movement_date", "id"))
        assert item.count_on_hand == sum(m.quantity for m in movements), item
        assert [m.rank for m in movements] == list(range(1, len(movements) + 1)), item
        if movements:
            assert movements[-1].balance_after == item.count_on_hand
            assert movements[-1].value_in_stock_after == item.value_in_stock
        if not item.backorderable:
            assert all(m.balance_after >= 0 for m in movements), item
        remaining = CostLayer.objects.filter(stock_item=item).aggregate(n=Sum("quantity_remaining"))["n"] or 0
        assert remaining == item.count_on_hand
    recount = pytest.importorskip("inventory.services.recount")
    assert recount.recount().drifts == []


# Ids are part of the demo (the examples in docs/api.md use them): a fresh database's sequences start at 1.
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_seed_matches_the_documented_demo():
    output = seed()
    main, shop = StockLocation.objects.get(pk=1), StockLocation.objects.get(pk=2)
    assert (main.code, main.name, main.default) == ("MAIN", "Main warehouse", True)
    assert (shop.code, shop.name) == ("SHOP", "Downtown store")
    assert Variant.objects.get(pk=1).sku == "ROR-00011"
    assert Variant.objects.filter(sku="ROR-00012").exists()
    assert StockItem.objects.get(pk=1).variant.sku == "ROR-00011"
    for username, role, superuser in (("admin", Role.ADMIN, True), ("gestor", Role.MANAGER, False),
                                      ("consultor", Role.VIEWER, False)):
        user = User.objects.get(username=username)
        assert (user.role, user.is_staff, user.is_superuser) == (role, True, superuser)
        assert user.check_password("stockroom-demo")
        key = ApiKey.lookup(f"sr_demo_{username}_key")
        assert key is not None and key.user == user
        assert f"sr_demo_{username}_key" in output
    # Stored hashed, never raw.
    assert not ApiKey.objects.filter(hashed_key__startswith="sr_demo").exists()
    assert "admin" in output and "stockroom-demo" in output and "http://127.0.0.1:8000/admin/" in output


def test_seeded_history_covers_the_api_examples():
    seed()
    actions = set(StockMovement.objects.values_list("action", flat=True))
    assert {"received", "sold", "returned", "adjusted", "counted", "transferred_in", "transferred_out"} <= actions
    item = StockItem.objects.get(stock_location__code="MAIN", variant__sku="ROR-00011")
    costs = set(item.movements.filter(action="received").values_list("figures__value_per_unit", flat=True))
    assert len(costs) >= 3  # receipts at several costs
    adjustment = item.movements.get(action="adjusted")
    assert adjustment.rank < item.movements.order_by("-figures__rank").first().rank  # backdated into the ledger
    transfer = StockTransfer.objects.get()
    assert (transfer.source_location.code, transfer.destination_location.code) == ("MAIN", "SHOP")
    allocation = Allocation.objects.get()
    assert allocation.stock_item.quantity_allocated == allocation.quantity
    assert StockItem.objects.filter(reorder_point__gt=0, count_on_hand__lte=F("reorder_point")).count() >= 3
    assert Product.objects.count() >= 3
    assert all(2 <= p.variants.count() <= 4 for p in Product.objects.all())



@pytest.mark.parametrize(("env", "address"), [
    ({}, "http://127.0.0.1:8000"),
    ({"PORT": "8123"}, "http://127.0.0.1:8123"),
    ({"HOST": "0.0.0.0", "PORT": "9001"}, "http://0.0.0.0:9001"),
    ({"HOST": "::1", "PORT": "8000"}, "http://[::1]:8000"),
])
def test_summary_prints_the_address_make_run_serves(monkeypatch, env, address):
    # `make run` passes its HOST and PORT to seed_demo and to runserver alike.
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    output = seed()
    assert f"Admin:     {address}/admin/" in output
    assert f"API docs:  {address}/api/docs/" in output
    assert output.count("http://") == output.count(address) == 3  # admin, dashboard, API docs
