"""StockItem: the movement counters add up to `movement_total` in every row (a CHECK constraint), so that
recount's default pass need only compare the total with the ledger.

A row whose total disagrees with its counters (recount reports such an item) takes their sum first: recount
still finds it, by that total against the ledger, and `recount --fix` rewrites both from the ledger. The
actions are spelled out as they were when this migration was written, as a migration's models are."""

import functools
import operator

from django.db import migrations, models
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

ACTIONS = ("received", "sold", "returned", "adjusted", "counted", "transferred_in", "transferred_out")


def counters_total():
    return functools.reduce(operator.add, [
        Coalesce(Cast(KT(f"movement_counts__{action}"), models.IntegerField()), 0) for action in ACTIONS])


def total_from_counters(apps, schema_editor):
    items = apps.get_model("inventory", "StockItem").objects
    items.exclude(movement_total=counters_total()).update(movement_total=counters_total())


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0016_append_movement_function"),
    ]

    operations = [
        migrations.RunPython(total_from_counters, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="stockitem",
            constraint=models.CheckConstraint(condition=models.Q(movement_total=counters_total()),
                                              name="stock_item_counters_add_up"),
        ),
    ]
