"""Admin test fixtures: logged-in clients per role and a small ledger touching every model."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from inventory import services
from inventory.models import Country, State
from inventory.services.allocations import allocate
from tests.factories import (
    ApiKeyFactory,
    IdempotencyRecordFactory,
    StockItemFactory,
    StockLocationFactory,
    UserFactory,
    VariantFactory,
)


@pytest.fixture
def staff_client(db):
    """staff_client(role, superuser=False) -> a Client logged in as a staff user with that role."""

    def make(role: str = Role.ADMIN, *, superuser: bool = False) -> Client:
        user = UserFactory(role=role, is_staff=True, is_superuser=superuser)
        client = Client()
        client.force_login(user)
        client.user = user
        return client

    return make


@pytest.fixture
def superuser_client(staff_client) -> Client:
    return staff_client(Role.VIEWER, superuser=True)


def build_ledger(n: int, *, main=None, shop=None, tag: str = "") -> dict:
    """n variants stocked at `main`, each with a receipt, a sale, an edited (audited) movement, a transfer
    of one unit to `shop` and an allocation; plus an idempotency record and an API key per variant."""
    main = main or StockLocationFactory(code=f"MAIN{tag}")
    shop = shop or StockLocationFactory(code=f"SHOP{tag}")
    items = []
    for _ in range(n):
        variant = VariantFactory()
        item = StockItemFactory(stock_location=main, variant=variant)
        services.receive(item, 10, value_per_unit="2.50")
        sale = services.sell(item, 2, cause=services.Cause(caused_by_order_no="R1"))
        services.update_movement(sale, notes="edited")
        services.transfer(main, shop, [(variant, 1)], reference="restock")
        allocate(item, 1, reference_type="order", reference_id="R2")
        IdempotencyRecordFactory()
        ApiKeyFactory()
        item.refresh_from_db()
        items.append(item)
        # A country and a state per variant too, so that every admin list grows with n.
        number = Country.objects.count()
        country = Country.objects.create(iso=f"{chr(65 + number // 26)}{chr(65 + number % 26)}",
                                         name=f"Country {number}")
        State.objects.create(country=country, name=f"State {number}", abbr=f"S{number}")
    return {"main": main, "shop": shop, "items": items}


@pytest.fixture
def ledger(db) -> dict:
    return build_ledger(2)
