"""Writes sent to PostgreSQL as one statement: each INSERT or UPDATE but the last a data-modifying WITH.

An append writes a movement, its figures, a layer or the layers it drew on, its consumptions and the item:
four statements or more (an UPDATE for each layer drawn on), each with its own trip through Django's
cursor, psycopg's adaptation and PostgreSQL's bind and execute, for a few rows each. As one statement they
cost one of each. PostgreSQL runs every part of such a statement on one snapshot and checks foreign keys at
its end, so a figure may name a movement inserted by another part; no part may read what another writes,
and no row may be updated by two parts (the writes of an append touch each row once).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import connection

from inventory.rawsql import on_postgresql

_pending = threading.local()  # .statements: the writes of the open `as_one_statement` block, else None


def execute_write(sql: str, params: Sequence) -> None:
    """Run a write that returns nothing, or keep it for the open `as_one_statement` block."""
    statements = getattr(_pending, "statements", None)
    if statements is not None:
        statements.append((sql, params))
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def execute_writes(sql: str, rows: Sequence[Sequence]) -> None:
    """`execute_write` of one statement for each of `rows` (an executemany outside a block)."""
    statements = getattr(_pending, "statements", None)
    if statements is not None:
        statements.extend((sql, row) for row in rows)
        return
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def combined(statements: Sequence[tuple[str, Sequence]]) -> tuple[str, list]:
    """One statement running `statements` (INSERTs and UPDATEs without WITH or RETURNING) and its parameters."""
    *first, (last, _) = statements
    sql = last if not first else "WITH " + ", ".join(f"w{n} AS ({s})" for n, (s, _) in enumerate(first)) + " " + last
    return sql, [value for _, params in statements for value in params]


@contextmanager
def as_one_statement() -> Iterator[None]:
    """On PostgreSQL, the writes of the block (through `execute_write`) sent as one statement at its end;
    nothing is sent if the block raises. Elsewhere they run as they come."""
    if not on_postgresql() or getattr(_pending, "statements", None) is not None:
        yield
        return
    _pending.statements = statements = []
    try:
        yield
    finally:
        _pending.statements = None
    if statements:
        sql, params = combined(statements)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
