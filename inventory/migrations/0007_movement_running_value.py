"""Each movement stores the exact (unrounded) value in stock after it, `running_value`, so that a correction
restores the valuation at any point from the movement before it and an append from the newest one, without
summing the open cost layers; and a partial index finds an item's open shortfall layers directly.

The back-fill derives it from what is stored. Moving average: balance_after x average_cost_after, exactly
what the valuation keeps. FIFO: the value of the open layers after each movement, as the running sum over
the ledger of what each movement changed: the layers it created (quantity_received x unit_cost, negative
for a shortfall) and what it drew from other movements' batches (less) or settled of their shortfalls
(more). PostgreSQL computes it in one statement; SQLite, whose decimal arithmetic is floating point, in
Python with Decimal."""

from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import migrations, models


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    movement = apps.get_model("inventory", "StockMovement")
    q = connection.ops.quote_name
    movements, layers = q(movement._meta.db_table), q(apps.get_model("inventory", "CostLayer")._meta.db_table)
    consumptions = q(apps.get_model("inventory", "LayerConsumption")._meta.db_table)
    average = settings.STOCKROOM_VALUATION == "average"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if average:
                cursor.execute(f"UPDATE {movements} SET running_value = balance_after * average_cost_after")
                return
            cursor.execute(f"""
                UPDATE {movements} SET running_value = r.value FROM (
                    SELECT d.id, SUM(d.delta) OVER (PARTITION BY d.stock_item_id ORDER BY d.movement_date, d.id)
                           AS value
                    FROM (
                        SELECT m.id, m.stock_item_id, m.movement_date,
                               COALESCE(created.value, 0) + COALESCE(drawn.value, 0) AS delta
                        FROM {movements} m
                        LEFT JOIN (SELECT movement_id, SUM(quantity_received * unit_cost) AS value
                                   FROM {layers} GROUP BY movement_id) created ON created.movement_id = m.id
                        LEFT JOIN (SELECT c.movement_id,
                                          SUM(CASE WHEN l.quantity_received < 0 THEN c.quantity ELSE -c.quantity END
                                              * c.unit_cost) AS value
                                   FROM {consumptions} c JOIN {layers} l ON l.id = c.layer_id
                                   WHERE l.movement_id <> c.movement_id GROUP BY c.movement_id
                                  ) drawn ON drawn.movement_id = m.id
                    ) d
                ) r WHERE {movements}.id = r.id
            """)
        return
    created, drawn = defaultdict(Decimal), defaultdict(Decimal)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT movement_id, quantity_received, unit_cost FROM {layers}")
        for movement_id, received, cost in cursor.fetchall():
            created[movement_id] += received * Decimal(str(cost))
        cursor.execute(f"SELECT c.movement_id, c.quantity, c.unit_cost, l.quantity_received FROM {consumptions} c"
                       f" JOIN {layers} l ON l.id = c.layer_id WHERE l.movement_id <> c.movement_id")
        for movement_id, quantity, cost, received in cursor.fetchall():
            drawn[movement_id] += (quantity if received < 0 else -quantity) * Decimal(str(cost))
    running: dict[int, Decimal] = defaultdict(Decimal)
    rows = movement.objects.order_by("stock_item_id", "movement_date", "id").values_list(
        "pk", "stock_item_id", "balance_after", "average_cost_after")
    updates = []
    for pk, item_id, balance, average_cost in rows.iterator():
        if average:
            value = balance * average_cost
        else:
            running[item_id] += created[pk] + drawn[pk]
            value = running[item_id]
        updates.append((str(value), pk))
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {movements} SET running_value = %s WHERE id = %s", updates)


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0006_movement_rank_index_covers_newest_figures"),
    ]

    operations = [
        migrations.AddField(
            model_name="stockmovement",
            name="running_value",
            field=models.DecimalField(decimal_places=4, default=0, max_digits=20),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="costlayer",
            index=models.Index(condition=models.Q(("quantity_remaining__lt", 0)), fields=["stock_item", "id"],
                               name="layer_shortfall_idx"),
        ),
    ]
