"""StockMovement.stock_location: the item's location, copied onto the ledger for the per-location reads.

Added nullable and without its foreign key constraint, back-filled with one set-based UPDATE, then made
NOT NULL with the constraint: adding the constraint to a filled column checks it in one pass, where a
constraint present during the UPDATE would queue a deferred trigger per row (and PostgreSQL refuses the
ALTER TABLE that follows while those are pending).
"""

import django.db.models.deletion
from django.db import migrations, models

# UPDATE ... FROM: PostgreSQL, and SQLite since 3.33.
BACKFILL_SQL = """
UPDATE inventory_stockmovement
SET stock_location_id = inventory_stockitem.stock_location_id
FROM inventory_stockitem
WHERE inventory_stockitem.id = inventory_stockmovement.stock_item_id
  AND inventory_stockmovement.stock_location_id IS NULL
"""


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0003_movement_item_created_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="stockmovement",
            name="stock_location",
            field=models.ForeignKey(null=True, db_index=False, db_constraint=False,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="movements",
                                    to="inventory.stocklocation"),
        ),
        migrations.RunSQL(BACKFILL_SQL, reverse_sql=migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="stockmovement",
            name="stock_location",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="movements", to="inventory.stocklocation"),
        ),
        migrations.AddIndex(
            model_name="stockmovement",
            index=models.Index(fields=["stock_location", "movement_date", "id"], name="movement_location_date_idx"),
        ),
        migrations.AddIndex(
            model_name="stockmovement",
            index=models.Index(fields=["stock_location", "action", "created_at", "id"],
                               name="movement_loc_act_created_idx"),
        ),
        migrations.AddIndex(
            model_name="stockmovement",
            index=models.Index(fields=["stock_location", "action"], name="movement_location_action_idx"),
        ),
        migrations.AddIndex(
            model_name="stockmovement",
            index=models.Index(fields=["movement_date"], name="movement_date_idx"),
        ),
    ]
