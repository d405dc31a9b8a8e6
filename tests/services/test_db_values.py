"""inventory.rawsql.values_reader: the ledger's writes prepare model fields for the database without Django's
per-field machinery where the backend would pass the value unchanged; what it gives must equal what
`Field.get_db_prep_save` gives, value and type, on the database of the run."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from inventory.models import CostLayer, MovementFigures, StockItem, StockMovement
from inventory.rawsql import values_reader
from tests.factories import StockItemFactory

pytestmark = pytest.mark.django_db


def db_values(obj, fields) -> tuple:
    return values_reader(type(obj), tuple(f.name for f in fields))(obj)


def django_prepared(obj, fields) -> tuple:
    return tuple(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields)


def comparable(value):
    return ("json", value.obj) if type(value).__name__ == "Jsonb" else value  # psycopg's wrapper has no ==


def assert_same(obj, model) -> None:
    fields = model._meta.concrete_fields
    fast, slow = db_values(obj, fields), django_prepared(obj, fields)
    assert list(map(comparable, fast)) == list(map(comparable, slow))
    assert [type(v) for v in fast] == [type(v) for v in slow]


def test_a_stock_item_and_a_movement_with_their_figures():
    item = StockItemFactory(count_on_hand=5)
    assert_same(item, StockItem)
    movement = StockMovement(pk=10**12, stock_item=item, stock_location_id=item.stock_location_id, quantity=-3,
                             action="sold", movement_date=timezone.now(), notes="n", created_at=timezone.now())
    assert_same(movement, StockMovement)
    figures = MovementFigures(movement=movement, stock_item_id=item.pk, quantity=-3, rank=2, balance_after=2,
                              value_per_unit=Decimal("1.2500"), total_cost=Decimal("-3.75"),
                              value_in_stock_after=Decimal("2.50"), average_cost_after=Decimal("1.2500"),
                              running_value=Decimal("2.5000"), updated_at=timezone.now())
    assert_same(figures, MovementFigures)


def test_values_of_other_types_take_the_general_path():
    item = StockItemFactory()
    layer = CostLayer(pk=7, stock_item=item, unit_cost="1.5", quantity_received=True, quantity_remaining=None,
                      created_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert_same(layer, CostLayer)
    layer.unit_cost = 2.25  # a float: Django's decimal context
    assert_same(layer, CostLayer)


def test_nan_is_refused_as_django_refuses_it():
    layer = CostLayer(pk=7, stock_item_id=1, unit_cost=Decimal("NaN"), quantity_received=1, quantity_remaining=1,
                      created_at=timezone.now())
    with pytest.raises(Exception) as fast:
        db_values(layer, CostLayer._meta.concrete_fields)
    with pytest.raises(Exception) as slow:
        django_prepared(layer, CostLayer._meta.concrete_fields)
    assert type(fast.value) is type(slow.value)


def test_a_reader_of_some_fields_gives_what_db_values_gives_for_them():
    item = StockItemFactory(count_on_hand=5)
    names = ("count_on_hand", "running_value", "last_movement_at", "movement_counts")
    fields = [StockItem._meta.get_field(name) for name in names]
    assert list(map(comparable, values_reader(StockItem, names)(item))) == \
        list(map(comparable, django_prepared(item, fields)))
    assert values_reader(StockItem, ("count_on_hand",))(item) == (5,)
