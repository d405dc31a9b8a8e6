"""At most one default stock location, backed by a partial unique index (issue 12 item 3a).

Where several locations are default already, the one with the lowest id stays default (the oldest: a
deterministic choice, the same on every copy of the database) and the others are unset first."""

from django.db import migrations, models


def keep_one_default(apps, schema_editor):
    location = apps.get_model("inventory", "StockLocation")
    first = location.objects.filter(default=True).order_by("id").values_list("id", flat=True).first()
    if first is not None:
        location.objects.filter(default=True).exclude(id=first).update(default=False)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0010_stock_location_address_item_discard"),
    ]

    operations = [
        migrations.RunPython(keep_one_default, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="stocklocation",
            constraint=models.UniqueConstraint(condition=models.Q(("default", True)), fields=("default",),
                                               name="stock_location_one_default"),
        ),
    ]
