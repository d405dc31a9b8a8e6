"""PostgreSQL: `inventory_append_movement(...)`, the commonest movement appended in the statement that locks its
item (services/sql_append.py): one round trip, no BEGIN or COMMIT of its own, for a POST that only appends.

The valuation is `services.valuation.ItemValuation.apply`'s, for the cases that need neither a shortfall layer
nor a refusal: a receipt into an item that is not short, an issue that the item's stock covers. For anything
else (and for a state it does not expect) it returns no row, having written nothing, and the service values
the movement itself. tests/test_sql_append_pg.py holds the two to the same figures, rows and layers.

`it` is the item row as the calling statement locked it; the open batches are read by the function's own
query, whose snapshot is taken after the lock was granted (see 0014). Money as in valuation.py: unit costs
rounded to 4 places and totals to 2, half away from zero (numeric round() as ROUND_HALF_UP), the running value
exact; quotients carried to 30 places before rounding (Decimal's context carries 28 digits)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION inventory_append_movement(
    it inventory_stockitem, cost_price numeric, location bigint, qty integer, act text, given_cost numeric,
    method text, author bigint, note text, r_type text, r_id text, order_no text, caused_by text, now_at timestamptz)
RETURNS TABLE (movement_id bigint, movement_date timestamptz, unit_cost_fixed boolean, rank integer,
               balance_after integer, value_per_unit numeric, total_cost numeric, value_in_stock_after numeric,
               average_cost_after numeric, running_value numeric, movement_counts jsonb, movement_total integer)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    balance integer := it.count_on_hand + qty;
    average numeric := it.average_cost;
    val numeric := CASE WHEN method = 'average' THEN it.count_on_hand * it.average_cost ELSE it.running_value END;
    cost numeric;
    fixed boolean := false;
    moved numeric := 0;
    wanted integer := -qty;
    layer record;
    take integer;
    drawn_ids bigint[] := '{}';
    drawn integer[] := '{}';
    drawn_costs numeric[] := '{}';
    left_after integer[] := '{}';
    new_id bigint;
    dated timestamptz := greatest(now_at, it.last_movement_at);
    counts jsonb;
    n integer;
BEGIN
    IF it.deleted_at IS NOT NULL OR (location IS NOT NULL AND it.stock_location_id <> location)
            OR abs(balance::bigint) > 2000000000 THEN
        RETURN;
    END IF;
    IF qty > 0 THEN
        IF it.count_on_hand < 0 THEN
            RETURN;  -- shortfalls to settle first
        END IF;
        IF given_cost IS NOT NULL THEN
            cost := given_cost; fixed := true;
        ELSIF cost_price IS NOT NULL THEN
            cost := round(cost_price, 4); fixed := true;
        ELSE
            cost := it.average_cost;
        END IF;
        moved := qty * cost;
        IF method = 'average' THEN
            IF it.count_on_hand <= 0 THEN
                average := round(moved::numeric(60, 30) / qty, 4);
            ELSE
                average := round((it.count_on_hand * it.average_cost + moved)::numeric(60, 30) / balance, 4);
            END IF;
            val := balance * average;
        ELSE
            val := val + moved;
        END IF;
    ELSE
        IF balance < 0 THEN
            RETURN;  -- a shortfall, or a refusal
        END IF;
        FOR layer IN SELECT id, unit_cost, quantity_remaining FROM inventory_costlayer
                WHERE stock_item_id = it.id AND quantity_remaining <> 0 AND quantity_remaining > 0 ORDER BY id LOOP
            take := least(wanted, layer.quantity_remaining);
            drawn_ids := drawn_ids || layer.id;
            drawn := drawn || take;
            drawn_costs := drawn_costs || layer.unit_cost;
            left_after := left_after || (layer.quantity_remaining - take);
            moved := moved + take * layer.unit_cost;
            wanted := wanted - take;
            EXIT WHEN wanted = 0;
        END LOOP;
        IF wanted > 0 THEN
            RETURN;  -- batches short of the balance: not a state this function values
        END IF;
        IF method = 'average' THEN
            IF average = 0 THEN
                average := coalesce(cost_price, 0);
            END IF;
            val := balance * average;
            moved := -qty * average;
        ELSE
            val := val - moved;
        END IF;
    END IF;
    IF method <> 'average' AND balance <> 0 THEN
        average := round(val::numeric(60, 30) / balance, 4);
    END IF;
    IF abs(round(moved, 2)) > 99999999999999.99 OR abs(round(val, 2)) > 99999999999999.99 THEN
        RETURN;  -- out of range: refused by the service
    END IF;

    new_id := nextval(pg_get_serial_sequence('inventory_stockmovement', 'id'));
    INSERT INTO inventory_stockmovement (id, stock_item_id, stock_location_id, quantity, action, movement_date,
            unit_cost_fixed, resource_type, resource_id, caused_by_order_no, caused_by_resource_id, notes,
            transfer_id, source_movement_id, created_by_id, created_at)
        VALUES (new_id, it.id, it.stock_location_id, qty, act, dated, fixed, r_type, r_id, order_no, caused_by,
                note, NULL, NULL, author, now_at);
    INSERT INTO inventory_movementfigures (movement_id, stock_item_id, quantity, rank, balance_after,
            value_per_unit, total_cost, value_in_stock_after, average_cost_after, running_value, updated_at)
        VALUES (new_id, it.id, qty, it.movement_total + 1, balance, round(moved::numeric(60, 30) / abs(qty), 4),
                round(moved, 2), round(val, 2), average, val, now_at);
    IF qty > 0 THEN
        INSERT INTO inventory_costlayer (id, stock_item_id, movement_id, unit_cost, quantity_received,
                quantity_remaining, created_at)
            VALUES (nextval(pg_get_serial_sequence('inventory_costlayer', 'id')), it.id, new_id, cost, qty, qty, now_at);
    ELSE
        FOR n IN 1 .. array_length(drawn_ids, 1) LOOP
            UPDATE inventory_costlayer SET quantity_remaining = left_after[n] WHERE id = drawn_ids[n];
            INSERT INTO inventory_layerconsumption (movement_id, layer_id, quantity, unit_cost)
                VALUES (new_id, drawn_ids[n], drawn[n], drawn_costs[n]);
        END LOOP;
    END IF;
    counts := jsonb_set(coalesce(it.movement_counts, '{}'::jsonb), ARRAY[act],
                        to_jsonb(coalesce((it.movement_counts ->> act)::integer, 0) + 1));
    movement_total := (SELECT coalesce(sum(c.value::integer), 0) FROM jsonb_each_text(counts) c);
    UPDATE inventory_stockitem SET count_on_hand = balance, value_in_stock = round(val, 2), average_cost = average,
            running_value = val, last_movement_at = dated, updated_at = now_at, movement_counts = counts,
            movement_total = inventory_append_movement.movement_total
        WHERE id = it.id;
    RETURN QUERY SELECT new_id, dated, fixed, it.movement_total + 1, balance,
        round(moved::numeric(60, 30) / abs(qty), 4), round(moved, 2), round(val, 2), average, val, counts,
        inventory_append_movement.movement_total;
END
$$
"""
DROP = """DROP FUNCTION IF EXISTS inventory_append_movement(inventory_stockitem, numeric, bigint, integer, text, numeric,
    text, bigint, text, text, text, text, text, timestamptz)"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0015_stock_item_movement_total"),
    ]

    operations = [migrations.RunPython(create, drop)]
