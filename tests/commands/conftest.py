"""Fixtures of the command tests."""

from __future__ import annotations

import pytest

from inventory import services
from tests.factories import StockItemFactory


@pytest.fixture
def stocked():
    """An item with a small history: 50 @ 15, 30 @ 20, sell 60, adjust +5."""
    item = StockItemFactory()
    services.receive(item, 50, value_per_unit="15.00")
    services.receive(item, 30, value_per_unit="20.00")
    services.sell(item, 60)
    services.adjust(item, 5)
    item.refresh_from_db()
    return item
