"""StockItem.movement_counts: each item's number of movements per action, back-filled from the ledger.

The Spree index's total_count for a location (or an action there) now sums these, so the count-only
index of 0004 goes.
"""

from django.db import migrations, models
from django.db.models import Count

BATCH = 1000


def backfill(apps, schema_editor):
    StockItem = apps.get_model("inventory", "StockItem")
    StockMovement = apps.get_model("inventory", "StockMovement")
    counts: dict[int, dict[str, int]] = {}
    rows = (StockMovement.objects.order_by().values_list("stock_item_id", "action").annotate(n=Count("id")))
    for item_id, action, n in rows.iterator(chunk_size=5000):
        counts.setdefault(item_id, {})[action] = n
    ids = sorted(counts)
    for start in range(0, len(ids), BATCH):
        items = list(StockItem.objects.filter(pk__in=ids[start:start + BATCH]).only("pk"))
        for item in items:
            item.movement_counts = counts[item.pk]
        StockItem.objects.bulk_update(items, ["movement_counts"])


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0004_movement_stock_location"),
    ]

    operations = [
        migrations.AddField(
            model_name="stockitem",
            name="movement_counts",
            field=models.JSONField(default=dict, editable=False),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="stockmovement",
            name="movement_location_action_idx",
        ),
    ]
