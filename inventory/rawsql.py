"""Raw SQL helpers for the few statements written by hand (the hot paths under an item lock, recount, and
the reads every write renders): quoting, placeholders, and rows converted as the ORM converts them."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from operator import attrgetter, call

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from psycopg.types.json import Json, Jsonb


@cache
def on_postgresql() -> bool:
    """Whether the database is PostgreSQL. Every write asks several times, and `connection.vendor` finds the
    thread's connection through asgiref's Local each time (a RuntimeError raised and caught within)."""
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql"


@cache  # names are a handful of constants; every write quotes dozens of them
def q(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model) -> str:
    return q(model._meta.db_table)


def placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def select(sql: str, params: Sequence, fields: Sequence) -> list[tuple]:
    """Rows of `sql`, each column converted as Django would convert `fields[i]` (None: as the driver gives it)."""
    return select_later(sql, params, fields)()


def select_later(sql: str, params: Sequence, fields: Sequence) -> Callable[[], list[tuple]]:
    """`select`, sent now and read when the function it returns is called. In psycopg's pipeline mode the
    database runs it, and what is sent after it, while the caller works on; elsewhere it is read at once."""
    converters = [
        [*field.get_db_converters(connection), *connection.ops.get_db_converters(field.cached_col)] if field else []
        for field in fields
    ]
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        rows = None if on_postgresql() else cursor.fetchall()
    except BaseException:
        cursor.close()
        raise

    def read() -> list[tuple]:
        with cursor:
            fetched = cursor.fetchall() if rows is None else rows
        if not any(converters):
            return fetched
        out = []
        for row in fetched:
            values = list(row)
            for n, functions in enumerate(converters):
                for convert in functions:
                    values[n] = convert(values[n], fields[n].cached_col, connection)
            out.append(tuple(values))
        return out

    return read


def instance(model, db: str, names: Sequence[str], values: Sequence):
    """`model.from_db(db, names, values)` without running `Model.__init__`: the instance's attributes set at
    once, as a loaded instance has them (a field left out of `names` is deferred, as with from_db). The reads
    every write renders build a handful of instances, and __init__'s walk of the fields (a descriptor call
    for each foreign key) cost more than the rest of turning their rows into objects. With a receiver of
    pre_init or post_init connected for the model, from_db itself."""
    # The lists first: has_listeners is a chain of calls per model, and nothing here connects either signal.
    if (pre_init.receivers or post_init.receivers) and (pre_init.has_listeners(model)
                                                        or post_init.has_listeners(model)):
        return model.from_db(db, names, values)
    obj = model.__new__(model)
    obj.__dict__.update(zip(names, values, strict=True))
    obj._state = state = ModelState()
    state.adding, state.db = False, db
    return obj


class ModelReader:
    """Model instances from the columns of raw rows, converted as the ORM would convert them (JSON, SQLite's
    dates and decimals): for the statements written here that return whole rows."""

    def __init__(self, model, alias: str) -> None:
        self.model = model
        self.fields = model._meta.concrete_fields
        self.names = [f.attname for f in self.fields]
        self.columns = ", ".join(f"{alias}.{q(f.column)}" for f in self.fields)
        self.converters = [
            (n, [*f.get_db_converters(connection), *connection.ops.get_db_converters(f.cached_col)], f)
            for n, f in enumerate(self.fields)]
        self.converters = [c for c in self.converters if c[1]]

    def take(self, row: Sequence, conn=None) -> tuple:
        """(the instance made of the first columns of `row`, the rest of `row`). `conn`: the connection, if the
        caller has it (each lookup of the thread's connection costs, see on_postgresql)."""
        width = len(self.fields)
        values = list(row[:width])
        conn = conn or connections[DEFAULT_DB_ALIAS]
        for n, functions, field in self.converters:
            for convert in functions:
                values[n] = convert(values[n], field.cached_col, conn)
        return instance(self.model, conn.alias, self.names, values), row[width:]


# Field types whose value, of the Python type named, PostgreSQL's backend passes to psycopg unchanged
# (integers: wrapped in psycopg's Int4/Int8, as `adapt_integerfield_value` does). Anything else, or another
# type of value, goes through the field's own `get_db_prep_save`.
_AS_IS = {"CharField": str, "TextField": str, "BooleanField": bool, "DecimalField": Decimal,
          "DateTimeField": datetime, "AutoField": int, "BigAutoField": int, "SmallAutoField": int}


@cache
def _preparer(field) -> Callable:
    if not on_postgresql():
        return lambda value: field.get_db_prep_save(value, connection)
    target = field.target_field if field.is_relation else field
    kind = target.get_internal_type()
    wrap = connection.ops.integerfield_type_map.get(kind)
    if wrap is not None:
        return lambda value: wrap(value) if type(value) is int else field.get_db_prep_save(value, connection)
    if (as_is := _AS_IS.get(kind)) is not None and (not field.is_relation or as_is is int):
        if kind == "DateTimeField":
            # Django warns about a naive datetime and makes it aware: only an aware one goes as it is.
            return lambda value: value if type(value) is datetime and value.tzinfo is not None else \
                field.get_db_prep_save(value, connection)
        if kind == "DecimalField":  # Django refuses NaN and infinities
            return lambda value: value if type(value) is Decimal and value.is_finite() else \
                field.get_db_prep_save(value, connection)
        return lambda value: value if type(value) is as_is else field.get_db_prep_save(value, connection)
    return lambda value: field.get_db_prep_save(value, connection)


@cache
def values_reader(model, names: tuple[str, ...]) -> Callable[[object], tuple]:
    """A function giving the fields `names` of an instance of `model` as Django would prepare them for saving
    (`Field.get_db_prep_save`), but the values PostgreSQL's backend takes as they are skip its per-field
    machinery: every write of the ledger prepares dozens of them, and the general path cost a tenth of a
    movement POST's Python. Made once per model and fields: one attrgetter reads the attributes, each value
    goes through its field's preparer (a cache keyed by the fields would hash each through `Field.__hash__`,
    a Python call, 35 times a POST)."""
    fields = [model._meta.get_field(name) for name in names]
    preparers = [_preparer(f) for f in fields]
    if len(fields) == 1:
        get, prepare = attrgetter(fields[0].attname), preparers[0]
        return lambda obj: (prepare(get(obj)),)
    get = attrgetter(*(f.attname for f in fields))
    return lambda obj: tuple(map(call, preparers, get(obj)))


NUMBERS = {int, Decimal}  # (not bool: True is no number to PostgreSQL)
JSON_WRAPPERS = {Json, Jsonb}


def array_literal(values: Sequence) -> str:
    """A PostgreSQL array literal of one column's `values` (numbers bare, anything else quoted): built by
    joining strings, which costs a tenth of psycopg's adaptation of a list element by element."""
    # By type, not `None in values`: comparing a Decimal with None goes through the numbers ABCs, which
    # cost more than the rest of the literal.
    kinds = set(map(type, values))
    if kinds and kinds <= NUMBERS:
        return "{" + ",".join(map(str, values)) + "}"
    if kinds & JSON_WRAPPERS:  # a JSONField's value as Django prepares it: its JSON text
        values = [(v.dumps or json.dumps)(v.obj) if type(v) in JSON_WRAPPERS else v for v in values]
    if len(kinds) == 1 and values.count(values[0]) == len(values):
        # One value throughout (a repost's timestamp on every row): quoted once, not once per row.
        return "{" + ",".join([_array_element(values[0])] * len(values)) + "}"
    return "{" + ",".join(map(_array_element, values)) + "}"


def _array_element(value) -> str:
    return "NULL" if value is None else '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'

