"""The ledger's reads and writes in SQL, for the paths that run under an item lock.

The ORM would build a model instance per row and a CASE expression per row and field: for one movement
that is most of the CPU of a POST, and for a correction of 80,000 movements it is seconds under the lock.
So the append path and the tail repost read tuples and write set-based here:
- reads: each item's newest movement (one index probe), open cost layers a batch at a time in FIFO order
  (partial indexes), the lots a transfer's outbound leg drew;
- writes: multi-row INSERTs (RETURNING ids where they are needed) and one parameterised UPDATE per row
  through a pipelined executemany for a few rows; for many rows on PostgreSQL, one INSERT ... SELECT or
  UPDATE ... FROM over unnest() of one array literal per column (no COPY and no temporary table, so that
  they can be sent in pipeline mode, `pipelined`, and run while Python computes what follows).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection, connections

from inventory.models import CostLayer, LayerConsumption, MovementFigures, StockItem, StockMovement
from inventory.rawsql import array_literal, on_postgresql, placeholders, q, select, table, values_reader
from inventory.services.statement_batch import as_one_statement, execute_write, execute_writes
from inventory.services.valuation import AVERAGE, ZERO, Consumption, Layer, LayerFetch, Lot, valuation_method

# Rows per multi-row INSERT: far below every backend's limit on bound parameters.
INSERT_CHUNK = 1000
# Above this many rows, PostgreSQL writes through one INSERT or UPDATE ... FROM of arrays instead of a
# statement a row (or a VALUES list a row long): a statement whose text does not grow with its rows is
# parsed for placeholders once by psycopg (it caches statements of at most 50 parameters) and prepared by
# PostgreSQL; a bulk count of 100 rows spent a fifth of its Python parsing its VALUES lists again.
MANY_ROWS = 8
# Rows per UPDATE ... FROM unnest(arrays).
ARRAY_CHUNK = 10_000

# The running figures a valuation sets on each movement, in the order they are read and written
# (MovementFigures; `quantity` is its copy of the movement's).
MOVEMENT_FIGURES = ("quantity", "rank", "balance_after", "value_per_unit", "total_cost", "value_in_stock_after",
                    "average_cost_after", "running_value")


@dataclass(frozen=True)
class Tail:
    """An item's newest movement: where the next append goes, and the exact value in stock after it."""

    movement_date: datetime | None = None
    rank: int = 0
    running_value: Decimal = ZERO

    @classmethod
    def of(cls, item: StockItem) -> Tail:
        """Read off the (locked) item, which keeps them in the same UPDATE as its count: no query. The newest
        movement's rank is the number of movements, which the item's movement total holds."""
        return cls(item.last_movement_at, item.movement_total, item.running_value)


def newest_movement_date(item_id: int) -> datetime | None:
    return (StockMovement.objects.filter(stock_item_id=item_id).order_by("-movement_date", "-id")
            .values_list("movement_date", flat=True).first())


def _layer_query(shortfalls: bool, ceiling: int | None) -> str:
    """Open batches (or shortfalls) of one item after an id, oldest first (parameters: item, after id, limit):
    from the partial index of open layers (of shortfalls), so never past what the valuation draws."""
    sign = "< 0" if shortfalls else "> 0"
    bound = f" AND id <= {int(ceiling)}" if ceiling is not None else ""
    return (f"SELECT id, stock_item_id, movement_id, unit_cost, quantity_received, quantity_remaining"
            f" FROM {table(CostLayer)} WHERE stock_item_id = %s AND quantity_remaining <> 0"
            f" AND quantity_remaining {sign} AND id > %s{bound} ORDER BY id LIMIT %s")


def _layers(sql: str, params: Sequence) -> list[tuple[int, Layer]]:
    rows = select(sql, params, (None, None, None, CostLayer._meta.get_field("unit_cost"), None, None))
    return [(item_id, Layer(pk, movement_id, cost, received, remaining))
            for pk, item_id, movement_id, cost, received, remaining in rows]


def layer_fetch(item_id: int, *, shortfalls: bool, ceiling: int | None = None) -> LayerFetch:
    """Reads the item's open batches (or shortfalls), oldest first, a batch at a time. `ceiling`: only
    layers up to that id (a repost that writes layers while it reads must not read its own)."""
    sql = _layer_query(shortfalls, ceiling)

    def fetch(after: int, limit: int) -> list[Layer]:
        return [layer for _, layer in _layers(sql, [item_id, after, limit])]

    return fetch


def prefetch_layers(item_ids: Sequence[int], *, shortfalls: bool, per_item: int) -> dict[int, list[Layer]]:
    """The oldest `per_item` open batches (or shortfalls) of each item, in one statement for many items:
    what a write on several items at once would otherwise read item by item (`LayerQueue.preload`)."""
    found: dict[int, list[Layer]] = {pk: [] for pk in item_ids}
    if on_postgresql():
        # One statement whatever the number of items: each item's layers from the partial index.
        one = _layer_query(shortfalls, None).replace("stock_item_id = %s", "stock_item_id = t.item")
        sql = (f"SELECT l.* FROM unnest(%s::bigint[]) AS t(item) CROSS JOIN LATERAL ({one}) l"
               f" ORDER BY l.stock_item_id, l.id")
        batches = [(sql, [array_literal(item_ids), 0, per_item])]
    else:
        one = f"SELECT * FROM ({_layer_query(shortfalls, None)}) l{{n}}"
        chunks = [item_ids[start:start + INSERT_CHUNK // 5] for start in range(0, len(item_ids), INSERT_CHUNK // 5)]
        batches = [(" UNION ALL ".join(one.format(n=n) for n in range(len(chunk))),
                    [v for pk in chunk for v in (pk, 0, per_item)]) for chunk in chunks]
    for sql, params in batches:
        for item_id, layer in _layers(sql, params):
            found[item_id].append(layer)
    return found


def lots_by_source(source_ids: Iterable[int]) -> dict[int, list[Lot]]:
    """The batches each transferred_out movement drew, as lots for its transferred_in leg."""
    ids = sorted(set(source_ids))
    lots: dict[int, list[Lot]] = {}
    if not ids:
        return lots
    consumptions = table(LayerConsumption)
    cost_field = LayerConsumption._meta.get_field("unit_cost")
    for start in range(0, len(ids), INSERT_CHUNK):
        chunk = ids[start:start + INSERT_CHUNK]
        sql = (f"SELECT movement_id, quantity, unit_cost FROM {consumptions}"
               f" WHERE movement_id IN ({placeholders(len(chunk))}) ORDER BY id")
        for movement_id, quantity, cost in select(sql, chunk, (None, None, cost_field)):
            lots.setdefault(movement_id, []).append((quantity, cost))
    if lots and valuation_method() == AVERAGE:
        # The source issued the units at its moving average, not at their batch costs: the destination
        # must receive that same value, or value would appear or vanish in transit.
        issued_at = dict(StockMovement.objects.filter(pk__in=lots).values_list("pk", "figures__value_per_unit"))
        lots = {pk: [(qty, issued_at[pk]) for qty, _ in batch] for pk, batch in lots.items()}
    return lots


def transfer_lots(source_movement_id: int) -> list[Lot]:
    return lots_by_source([source_movement_id]).get(source_movement_id, [])


# --- writes ---------------------------------------------------------------------------------------------


def prepared_datetime(value: datetime):
    """A timestamp as the backend stores it (SQLite: Django's text form; a raw datetime would differ)."""
    return StockMovement._meta.get_field("created_at").get_db_prep_value(value, connection)


def write_figures(rows: Sequence[tuple]) -> None:
    """UPDATE movements' figures from rows of (*MOVEMENT_FIGURES, updated_at, movement id)."""
    update_by_id(MovementFigures, [*MOVEMENT_FIGURES, "updated_at"], rows)


def insert_layers(layers: Sequence[tuple[int, Layer]], now: datetime) -> None:
    """INSERT new (stock item id, layer)s, their movements already written, and set their ids."""
    if not layers:
        return
    columns = ("stock_item_id", "movement_id", "unit_cost", "quantity_received", "quantity_remaining", "created_at")
    created_at = prepared_datetime(now)
    if on_postgresql() and (len(layers) > MANY_ROWS or all(layer.id for _, layer in layers)):
        # Ids drawn from the sequence, then one INSERT (of arrays for many rows): a multi-row INSERT ...
        # RETURNING of thousands of rows costs more to build and parse than to run, and can't be pipelined.
        allocate_ids(layers=[layer for _, layer in layers])
        rows = [(layer.id, item_id, layer.movement_id, layer.unit_cost, layer.received, layer.remaining, created_at)
                for item_id, layer in layers]
        if len(rows) > MANY_ROWS:
            insert_arrays(CostLayer, ("id", *columns), rows)
        else:
            values = ", ".join([f"({placeholders(7)})"] * len(rows))
            execute_write(f"INSERT INTO {table(CostLayer)} (id, {', '.join(columns)}) VALUES {values}",
                          [value for row in rows for value in row])
        return
    for start in range(0, len(layers), INSERT_CHUNK):
        chunk = layers[start:start + INSERT_CHUNK]
        params = []
        for item_id, layer in chunk:
            params += [item_id, layer.movement_id, layer.unit_cost, layer.received, layer.remaining, created_at]
        values = ", ".join([f"({placeholders(6)})"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table(CostLayer)} ({', '.join(columns)}) VALUES {values} RETURNING id",
                           params)
            ids = [row[0] for row in cursor.fetchall()]
        # Both backends return the ids in VALUES order (as Django's bulk_create relies on).
        for (_, layer), pk in zip(chunk, ids, strict=True):
            layer.id = pk


def allocate_ids(movements: Sequence[StockMovement] = (), layers: Sequence[Layer] = ()) -> None:
    """PostgreSQL: ids for new movements and layers (those without one) drawn from their sequences in one
    statement, so that every write that follows can be sent at once (`pipelined`) instead of waiting for
    each INSERT's RETURNING."""
    movements = [m for m in movements if m.pk is None]
    layers = [layer for layer in layers if layer.id is None]
    if not movements and not layers:
        return
    draw = "ARRAY(SELECT nextval(pg_get_serial_sequence('{}', 'id')) FROM generate_series(1, %s))"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {draw.format(StockMovement._meta.db_table)}, {draw.format(CostLayer._meta.db_table)}",
                       [len(movements), len(layers)])
        movement_ids, layer_ids = cursor.fetchone()
    for movement, pk in zip(movements, movement_ids, strict=True):
        movement.pk = pk
    for layer, pk in zip(layers, layer_ids, strict=True):
        layer.id = pk


def insert_instances(model, objs: Sequence, *, with_model=None, with_objs: Sequence = ()) -> None:
    """INSERT model instances whose primary keys are set, every concrete column as Django prepares it (no
    RETURNING: the statement can be pipelined). `with_model` / `with_objs`: rows of a second table written by
    the same statement on PostgreSQL (`statement_batch`), e.g. movements and their figures."""
    if not objs:
        return
    if not on_postgresql() and len(objs) > INSERT_CHUNK // 10:  # SQLite's bound-parameter limit
        step = INSERT_CHUNK // 10
        for start in range(0, len(objs), step):
            insert_instances(model, objs[start:start + step], with_model=with_model,
                             with_objs=with_objs[start:start + step])
        return
    statements = [_insert_sql(model, objs)]
    if with_model is not None:
        statements.append(_insert_sql(with_model, with_objs))
    with as_one_statement():
        for sql, params in statements:
            execute_write(sql, params)


def _insert_sql(model, objs: Sequence) -> tuple[str, list]:
    """An INSERT of model instances with their keys: multi-row VALUES, or (PostgreSQL, many rows) a SELECT
    from one array literal per column."""
    fields = model._meta.concrete_fields
    read = values_reader(model, tuple(f.name for f in fields))
    rows = [read(obj) for obj in objs]
    if on_postgresql() and len(rows) > MANY_ROWS:
        return _insert_arrays_sql(model), [array_literal(column) for column in zip(*rows, strict=True)]
    return _insert_values_sql(model, len(rows)), [value for row in rows for value in row]


@cache
def _insert_values_sql(model, rows: int) -> str:
    fields = model._meta.concrete_fields
    values = ", ".join([f"({placeholders(len(fields))})"] * rows)
    return f"INSERT INTO {table(model)} ({', '.join(q(f.column) for f in fields)}) VALUES {values}"


@cache
def _insert_arrays_sql(model) -> str:
    fields = model._meta.concrete_fields
    types = [_column_type(model, f.column) for f in fields]
    return (f"INSERT INTO {table(model)} ({', '.join(q(f.column) for f in fields)})"
            f" SELECT * FROM unnest({', '.join(f'%s::{t}[]' for t in types)})")


def insert_consumptions(consumptions: Sequence[Consumption]) -> None:
    """INSERT consumptions whose movements and layers are written."""
    rows = [(c.movement.pk, c.layer.id, c.quantity, c.unit_cost) for c in consumptions]
    columns = ("movement_id", "layer_id", "quantity", "unit_cost")
    if on_postgresql() and len(rows) > MANY_ROWS:
        insert_arrays(LayerConsumption, columns, rows)
        return
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start:start + INSERT_CHUNK]
        values = ", ".join([f"({placeholders(4)})"] * len(chunk))
        execute_write(f"INSERT INTO {table(LayerConsumption)} ({', '.join(columns)}) VALUES {values}",
                      [value for row in chunk for value in row])


def insert_arrays(model, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """PostgreSQL: INSERT many rows as one statement per ARRAY_CHUNK rows, each column one array literal."""
    types = [_column_type(model, c) for c in columns]
    sql = (f"INSERT INTO {table(model)} ({', '.join(q(c) for c in columns)})"
           f" SELECT * FROM unnest({', '.join(f'%s::{t}[]' for t in types)})")
    for start in range(0, len(rows), ARRAY_CHUNK):
        chunk = rows[start:start + ARRAY_CHUNK]
        execute_write(sql, [array_literal(column) for column in zip(*chunk, strict=True)])


@contextmanager
def pipelined(*, until_commit: bool = False) -> Iterator[None]:
    """On PostgreSQL, statements sent in the block do not wait for their results (psycopg's pipeline mode):
    the database runs one batch of writes while Python computes the next. A read waits for everything sent
    before it; an error surfaces at the next read or at the end of the block.

    `until_commit`: the block's writes are the transaction's last statements, so they need not be waited for
    before the COMMIT, which is then sent with them (config/postgresql); an error surfaces at the commit.
    Only in a transaction's outermost atomic block; elsewhere the block syncs at its end as usual."""
    if not on_postgresql():
        yield
        return
    db = connections[DEFAULT_DB_ALIAS]  # looked up once (see rawsql.on_postgresql)
    if until_commit and pipeline_until_commit(db):
        with db.wrap_database_errors:
            yield
        return
    # Errors that surface when the pipeline syncs, outside any Django cursor, become django.db's as well.
    with db.wrap_database_errors, db.connection.pipeline():
        yield


def pipeline_until_commit(db=None) -> bool:
    """On PostgreSQL, send every statement from here to the end of the transaction in psycopg's pipeline mode:
    a read waits for what was sent before it, writes do not wait, and the COMMIT travels with the last of them
    (config/postgresql). Called before the transaction's first statement, its BEGIN travels with that one.
    Only in a transaction's outermost atomic block; False where it is not kept (SQLite, a nested block)."""
    if not on_postgresql():
        return False
    db = db or connections[DEFAULT_DB_ALIAS]
    db.ensure_connection()
    keep = getattr(db, "keep_pipeline_until_commit", None)  # config.postgresql's
    return keep is not None and keep()


def update_layer_remaining(layers: Iterable[Layer]) -> None:
    update_by_id(CostLayer, ("quantity_remaining",), [(layer.remaining, layer.id) for layer in layers])


def update_rows(model, fields: Sequence[str], objs: Sequence) -> None:
    """Write `fields` of model instances `objs` (each field prepared for the database as Django would)."""
    read = values_reader(model, tuple(fields))
    rows = [(*read(obj), obj.pk) for obj in objs]
    update_by_id(model, _columns(model, tuple(fields)), rows)


@cache
def _columns(model, names: tuple[str, ...]) -> list[str]:
    return [model._meta.get_field(name).column for name in names]


def update_by_id(model, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """UPDATE `columns` of `model`'s table from rows of (*values, id). A few rows: one parameterised UPDATE
    each, pipelined by psycopg's executemany. Many rows on PostgreSQL: one UPDATE ... FROM unnest() of one
    array per column (about 10x less time per row, and no temporary table for a pooler to trip on)."""
    if not rows:
        return
    key = model._meta.pk.column
    if on_postgresql() and len(rows) > MANY_ROWS:
        types = [_column_type(model, c) for c in (key, *columns)]
        arrays = ", ".join(f"%s::{t}[]" for t in types)
        names = ", ".join(q(c) for c in (key, *columns))
        assignments = ", ".join(f"{q(c)} = s.{q(c)}" for c in columns)
        sql = (f"UPDATE {table(model)} AS t SET {assignments} FROM unnest({arrays}) AS s({names})"
               f" WHERE t.{q(key)} = s.{q(key)}")
        for start in range(0, len(rows), ARRAY_CHUNK):
            chunk = rows[start:start + ARRAY_CHUNK]
            columns_of_values = zip(*(row[:-1] for row in chunk), strict=True)
            execute_write(sql, [array_literal([row[-1] for row in chunk]),
                                *(array_literal(column) for column in columns_of_values)])
        return
    assignments = ", ".join(f"{q(c)} = %s" for c in columns)
    execute_writes(f"UPDATE {table(model)} SET {assignments} WHERE {q(key)} = %s", rows)


def _column_type(model, column: str) -> str:
    for field in model._meta.concrete_fields:
        if field.column == column:
            return field.rel_db_type(connection) if field.is_relation else field.db_type(connection)
    raise ValueError(column)
