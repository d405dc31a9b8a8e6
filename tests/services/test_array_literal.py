"""PostgreSQL array literals built by joining strings (inventory.rawsql.array_literal), read back by the
database of the run where it is PostgreSQL."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection

from inventory.rawsql import array_literal


def test_numbers_are_bare():
    assert array_literal([1, 2, 30]) == "{1,2,30}"
    assert array_literal([Decimal("1.50"), 2]) == "{1.50,2}"


def test_a_null_among_numbers_is_quoted_null():
    assert array_literal([Decimal("1.50"), None, 3]) == '{"1.50",NULL,"3"}'


def test_booleans_and_text_are_quoted_and_escaped():
    assert array_literal([True, False]) == '{"True","False"}'
    assert array_literal(['a"b', "c\\d", None]) == '{"a\\"b","c\\\\d",NULL}'


def test_one_value_throughout_is_quoted_once_and_repeated():
    moment = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert array_literal([moment] * 3) == "{" + ",".join([f'"{moment}"'] * 3) + "}"
    assert array_literal(['a"b'] * 2) == '{"a\\"b","a\\"b"}'
    assert array_literal([None, None]) == "{NULL,NULL}"
    assert array_literal([moment, moment.replace(hour=11)]) == f'{{"{moment}","{moment.replace(hour=11)}"}}'


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_reads_back_what_was_written():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (array literals are PostgreSQL's); run with DATABASE_URL=postgres://...")
    moment = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::numeric[], %s::text[], %s::timestamptz[], %s::bigint[]",
                       [array_literal([Decimal("1.5"), None]), array_literal(['a"b', "c\\d"]),
                        array_literal([moment.isoformat()]), array_literal([1, 2**40])])
        numbers, texts, moments, bigints = cursor.fetchone()
    assert numbers == [Decimal("1.5"), None]
    assert texts == ['a"b', "c\\d"]
    assert moments == [moment]
    assert bigints == [1, 2**40]
