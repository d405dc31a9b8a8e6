from decimal import Decimal

import pytest

from inventory import services
from tests.factories import StockItemFactory


@pytest.mark.django_db
def test_fifo_worked_example():
    item = StockItemFactory()
    services.receive(item, 50, value_per_unit="15.00")
    services.receive(item, 30, value_per_unit="20.00")
    sale = services.sell(item, 60)
    assert sale.total_cost == Decimal("950.00")
    assert sale.value_in_stock_after == Decimal("400.00")
    assert sale.average_cost_after == Decimal("20.0000")
