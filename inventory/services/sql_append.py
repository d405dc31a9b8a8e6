"""A movement appended by PostgreSQL in the statement that locks its item: the commonest write in one round trip.

A single movement POST spent most of its time around two round trips (BEGIN and the lock; the writes and the
COMMIT) and the Python between them; bench/FINDINGS.md (round 11) measured what is left when PostgreSQL values
and writes the movement itself. `append` does that for the movements that need neither a shortfall layer nor
a refusal (a receipt into an item that is not short, an issue its stock covers, dated now), through
`inventory_append_movement` (migration 0016), whose valuation is `valuation.ItemValuation.apply`'s written in
SQL. Anything else it leaves to the service: it returns None, and the function wrote nothing.
tests/test_sql_append_pg.py holds the two to the same rows and figures.

One statement in autocommit is its own transaction; inside a caller's transaction it is one more statement of
it. Either way the item row is locked first, as every writer of an item locks it.
"""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.utils import timezone

from inventory.models import Action, MovementFigures, StockItem, StockMovement, Variant
from inventory.rawsql import ModelReader, instance, on_postgresql, q, table
from inventory.services.errors import InvalidMovement
from inventory.services.locking import RENDERED_ITEM_JOINS, rendered_item_readers, stock_elsewhere, take_item
from inventory.services.refs import acting_user, pk_of
from inventory.services.rules import MovementRequest, validate_quantity, validate_unit_cost
from inventory.services.valuation import valuation_method

# Actions whose movements the function values; counts stamp the item and transfers come in pairs.
APPENDED_IN_SQL = frozenset({Action.RECEIVED, Action.SOLD, Action.RETURNED, Action.ADJUSTED})
MAX_BIGINT = 2**63 - 1  # a bigger id fits no row, and no parameter of the function
OUTPUT = ("movement_id", "movement_date", "unit_cost_fixed", "rank", "balance_after", "value_per_unit", "total_cost",
          "value_in_stock_after", "average_cost_after", "running_value", "movement_counts", "movement_total")


def append(request: MovementRequest, *, user=None) -> StockMovement | None:
    """`record_movement(request)` in one statement on PostgreSQL, or None (nothing written) where the service
    must decide: a backdated or refused movement, one that creates or settles a shortfall, an item that is
    missing, discarded or at another location; elsewhere always. Its item comes locked and rendered as the
    service's would."""
    item_id, location = pk_of(request.stock_item), request.location
    if (not on_postgresql() or request.movement_date is not None or request.action not in APPENDED_IN_SQL
            or not 0 < item_id <= MAX_BIGINT or (location is not None and not 0 < location <= MAX_BIGINT)):
        return None  # (ids no row can have are the service's 404s)
    try:
        validate_quantity(request.quantity, request.action)
        given_cost = validate_unit_cost(request.value_per_unit)
    except InvalidMovement:
        return None  # reported by the service, after any problem of the item's
    author = acting_user(user)
    cause = request.cause.as_fields()
    now = timezone.now()
    readers, sql = _statement()
    with connection.cursor() as cursor:
        cursor.execute(sql, [item_id, location, request.quantity, request.action,
                             given_cost, valuation_method(), author.pk if author else None, request.notes or "",
                             cause["resource_type"], cause["resource_id"], cause["caused_by_order_no"],
                             cause["caused_by_resource_id"], now])
        row = cursor.fetchone()
    if row is None:
        return None
    item, row = take_item(readers, row)
    others_on_hand, others_backorderable, *written = row
    if written[0] is None:
        return None
    result = dict(zip(OUTPUT, written, strict=True))
    item.count_on_hand = result["balance_after"]
    item.value_in_stock = result["value_in_stock_after"]
    item.average_cost = result["average_cost_after"]
    item.running_value = result["running_value"]
    item.last_movement_at = result["movement_date"]
    item.updated_at = now
    item.movement_counts = result["movement_counts"]
    item.movement_total = result["movement_total"]
    movement = loaded(StockMovement, item, {
        "id": result["movement_id"], "stock_item_id": item.pk, "stock_location_id": item.stock_location_id,
        "quantity": request.quantity, "action": request.action, "movement_date": result["movement_date"],
        "unit_cost_fixed": result["unit_cost_fixed"], **cause, "notes": request.notes or "", "transfer_id": None,
        "source_movement_id": None, "created_by_id": author.pk if author else None, "created_at": now})
    movement.stock_item = item
    movement.figures = loaded(MovementFigures, item, {
        "movement_id": movement.pk, "stock_item_id": item.pk, "quantity": request.quantity, "updated_at": now,
        **{f: result[f] for f in OUTPUT[3:10]}})
    # The variant's stock over every location, as the response shows it (`attach_stock_totals`).
    item.variant.stock_total = others_on_hand + item.count_on_hand
    item.variant.stock_backorderable = others_backorderable or item.backorderable
    return movement


@cache
def _statement() -> tuple[list[ModelReader], str]:
    """The item locked (its row handed whole to the function), the function called once on it, and the item,
    variant, location and product read back with the variant's stock elsewhere and what the function wrote
    (NULLs: it wrote nothing). Parameters: item, location, quantity, action, unit cost, valuation method,
    author, notes, the four cause fields, now."""
    readers = rendered_item_readers()
    item_columns = ", ".join(q(f.column) for f in StockItem._meta.concrete_fields)
    sql = (
        f"WITH i AS MATERIALIZED (SELECT {item_columns}, t AS whole FROM {table(StockItem)} t"
        f" WHERE t.id = %s::bigint FOR UPDATE),"
        f" a AS MATERIALIZED (SELECT a.* FROM i JOIN {table(Variant)} v ON v.id = i.variant_id"
        f" CROSS JOIN LATERAL inventory_append_movement(i.whole, v.cost_price, %s::bigint, %s::integer, %s::text,"
        f" %s::numeric, %s::text, %s::bigint, %s::text, %s::text, %s::text, %s::text, %s::text, %s::timestamptz) a)"
        f" SELECT {', '.join(r.columns for r in readers)}, {', '.join(stock_elsewhere())},"
        f" {', '.join(f'a.{c}' for c in OUTPUT)}"
        f" FROM i {RENDERED_ITEM_JOINS} LEFT JOIN a ON true")
    return readers, sql


def loaded(model, item: StockItem, values: dict):
    """An instance of a row just written, as if read back (`rawsql.instance`; every field given)."""
    names = [f.attname for f in model._meta.concrete_fields]
    return instance(model, item._state.db, names, [values[name] for name in names])
