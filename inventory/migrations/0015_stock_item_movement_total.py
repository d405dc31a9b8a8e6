"""StockItem.movement_total: the sum of the item's movement counters (its whole ledger), so that the
unfiltered Spree index counts a location's movements by summing one integer per item. Filled from the
counters here; kept by services.movement_counts.bump and checked and repaired by recount."""

from django.db import migrations, models


def fill(apps, schema_editor):
    table = apps.get_model("inventory", "StockItem")._meta.db_table
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"UPDATE {table} SET movement_total = COALESCE((SELECT SUM(value::bigint) "
                              f"FROM jsonb_each_text(movement_counts)), 0) WHERE movement_counts <> '{{}}'::jsonb")
        return
    item = apps.get_model("inventory", "StockItem")
    changed = []
    for row in item.objects.exclude(movement_counts={}).only("pk", "movement_counts").iterator(chunk_size=2000):
        row.movement_total = sum((row.movement_counts or {}).values())
        changed.append(row)
    item.objects.bulk_update(changed, ["movement_total"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0014_open_layers_function"),
    ]

    operations = [
        migrations.AddField(
            model_name="stockitem",
            name="movement_total",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
