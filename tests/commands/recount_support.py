"""What the recount tests share: the command's exit code and output, and corruptions of the database made
behind the services' back, as a bug or a manual UPDATE would."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.db import connection

from inventory.models import FIGURE_FIELDS, CostLayer, LayerConsumption, MovementFigures, StockItem, StockMovement


def run(*args: str) -> tuple[int, str]:
    """(exit code, stdout) of `manage.py recount ARGS`."""
    out = StringIO()
    try:
        call_command("recount", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def raw(sql: str, params: list) -> None:
    """Corrupt the database behind the services' back, as a bug or a manual UPDATE would."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def corrupt_count(item: StockItem, value: int) -> None:
    raw(f"UPDATE {StockItem._meta.db_table} SET count_on_hand = %s WHERE id = %s", [value, item.pk])


def corrupt_balance(movement: StockMovement, value: int) -> None:
    set_column(movement, "balance_after", value)


def figures(item: StockItem) -> dict:
    """Everything recount --fix could rewrite for an item."""
    item = StockItem.objects.get(pk=item.pk)
    return {
        "item": (item.count_on_hand, item.value_in_stock, item.average_cost, item.updated_at),
        "movements": list(StockMovement.objects.filter(stock_item=item).order_by("id").values_list(
            "id", "figures__rank", "figures__balance_after", "figures__value_per_unit", "figures__total_cost",
            "figures__value_in_stock_after",
            "figures__average_cost_after", "figures__updated_at")),
        "layers": list(CostLayer.objects.filter(stock_item=item).order_by("id").values_list(
            "id", "unit_cost", "quantity_received", "quantity_remaining")),
        "consumptions": list(LayerConsumption.objects.filter(movement__stock_item=item).order_by("id").values_list(
            "id", "movement_id", "layer_id", "quantity", "unit_cost")),
    }


def ledger(item: StockItem) -> list[StockMovement]:
    return list(StockMovement.objects.filter(stock_item=item).order_by("movement_date", "id"))


def set_column(movement: StockMovement, column: str, value) -> None:
    """Set a column of the movement's row, or of its figures' row for a figure."""
    model, key = (MovementFigures, "movement_id") if column in FIGURE_FIELDS else (StockMovement, "id")
    raw(f"UPDATE {model._meta.db_table} SET {connection.ops.quote_name(column)} = %s WHERE {key} = %s",
        [value, movement.pk])


def delete_movement(movement: StockMovement) -> None:
    # With its consumptions and figures, as a careless manual DELETE that got past the foreign keys would.
    raw(f"DELETE FROM {LayerConsumption._meta.db_table} WHERE movement_id = %s", [movement.pk])
    raw(f"DELETE FROM {MovementFigures._meta.db_table} WHERE movement_id = %s", [movement.pk])
    raw(f"DELETE FROM {StockMovement._meta.db_table} WHERE id = %s", [movement.pk])


def duplicate_movement(movement: StockMovement) -> None:
    """A copy of the movement (and of its figures) under a new id."""
    columns = ", ".join(connection.ops.quote_name(f.column) for f in StockMovement._meta.concrete_fields
                        if not f.primary_key)
    table = StockMovement._meta.db_table
    raw(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} WHERE id = %s", [movement.pk])
    copy = StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first()
    figures = [f.column for f in MovementFigures._meta.concrete_fields if f.column != "movement_id"]
    names = ", ".join(connection.ops.quote_name(c) for c in figures)
    raw(f"INSERT INTO {MovementFigures._meta.db_table} (movement_id, {names}) SELECT %s, {names}"
        f" FROM {MovementFigures._meta.db_table} WHERE movement_id = %s", [copy, movement.pk])
