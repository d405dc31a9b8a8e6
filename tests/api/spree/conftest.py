from decimal import Decimal

import pytest

from inventory.models import MovementAudit, Product, StockItem, StockLocation, StockMovement, Variant
from tests.factories import ProductFactory, StockItemFactory, StockLocationFactory, VariantFactory

API = "/api/v1"


@pytest.fixture
def main(db) -> StockLocation:
    return StockLocationFactory(name="Main warehouse", code="MAIN")


@pytest.fixture
def shop(db) -> StockLocation:
    return StockLocationFactory(name="Downtown store", code="SHOP")


@pytest.fixture
def variant(db) -> Variant:
    product = ProductFactory(name="Ruby on Rails Tote", slug="ruby-on-rails-tote", description="A tote bag")
    return VariantFactory(product=product, sku="ROR-00011", price=Decimal("15.99"), is_master=True,
                          weight=Decimal("1.50"), cost_price=Decimal("9.5000"))


@pytest.fixture
def item(main, variant) -> StockItem:
    return StockItemFactory(stock_location=main, variant=variant, count_on_hand=20, value_per_unit="9.50")


@pytest.fixture
def foreign_item(shop, variant) -> StockItem:
    return StockItemFactory(stock_location=shop, variant=variant, count_on_hand=5)


def counts() -> dict:
    """Row counts of everything a Spree write could touch: a refused request leaves them all unchanged."""
    return {
        "movements": StockMovement.objects.count(),
        "audits": MovementAudit.objects.count(),
        "items": StockItem.objects.count(),
        "on_hand": sorted(StockItem.objects.values_list("pk", "count_on_hand")),
        "products": Product.objects.count(),
        "live_products": Product.objects.filter(deleted_at__isnull=True).count(),
        "variants": Variant.objects.count(),
        "live_variants": Variant.objects.filter(deleted_at__isnull=True).count(),
        "locations": StockLocation.objects.count(),
    }


def assert_spree_422(response, *fields: str) -> dict:
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "Invalid resource. Please fix errors and try again."
    for name in fields:
        assert name in body["errors"], body
    return body["errors"]
