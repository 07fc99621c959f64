"""Database writes on hot paths where the ORM's per-row work is most of the cost."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connections, router


def insert_rows(model, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert rows of `model` with one executemany; returns how many.

    `columns` are field names, a foreign key by its column attribute ("node_id"). Values are
    numbers, strings and None, ready for the database, or datetimes, which are adapted here once
    per distinct value. Every poll stores a sample per node, stream and consumer: bulk_create
    builds and prepares a model instance per row, which cost more than the rest of recording the
    poll. No signals are sent and no defaults are applied: name every column the table needs.
    """
    rows = list(rows)
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    fields = [model._meta.get_field(column) for column in columns]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    datetimes = [i for i, field in enumerate(fields) if field.get_internal_type() == "DateTimeField"]
    if datetimes:
        adapted: dict = {}

        def adapt(index: int, value):
            key = (index, value)
            if key not in adapted:
                adapted[key] = fields[index].get_db_prep_save(value, connection)
            return adapted[key]

        rows = [[adapt(i, value) if i in datetimes else value for i, value in enumerate(row)] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return len(rows)
