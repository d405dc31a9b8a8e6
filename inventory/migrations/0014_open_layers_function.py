"""PostgreSQL: `inventory_open_layers(item, shortfalls, lim)`, the oldest open cost batches (or shortfalls) of
a stock item, for the item lock of a movement POST to read them in the same statement (services/locking.py).

A function because of its snapshot: in READ COMMITTED a statement reads as of its start, and the lock may be
granted later, after another writer of the item committed layers of its own. A VOLATILE PL/pgSQL function's
queries take a fresh snapshot each, so called on the locked row it sees them (a subquery would not). The
predicates are those of `ledger_io._layer_query` (the partial indexes layer_open_idx, layer_shortfall_idx).
SQLite has no functions and no row locks: nothing to do there."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION inventory_open_layers(item bigint, shortfalls boolean, lim integer)
RETURNS TABLE (layer_id bigint, layer_movement_id bigint, layer_unit_cost numeric, layer_received integer,
               layer_remaining integer)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF lim <= 0 THEN
        RETURN;
    ELSIF shortfalls THEN
        RETURN QUERY SELECT id, movement_id, unit_cost, quantity_received, quantity_remaining
            FROM inventory_costlayer WHERE stock_item_id = item AND quantity_remaining <> 0
            AND quantity_remaining < 0 ORDER BY id LIMIT lim;
    ELSE
        RETURN QUERY SELECT id, movement_id, unit_cost, quantity_received, quantity_remaining
            FROM inventory_costlayer WHERE stock_item_id = item AND quantity_remaining <> 0
            AND quantity_remaining > 0 ORDER BY id LIMIT lim;
    END IF;
END
$$
"""
DROP = "DROP FUNCTION IF EXISTS inventory_open_layers(bigint, boolean, integer)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0013_stock_location_one_default"),
    ]

    operations = [migrations.RunPython(create, drop)]
