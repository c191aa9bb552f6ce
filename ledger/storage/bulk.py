"""Fast bulk inserts: one prepared statement, values converted by the columns' own bind processors,
each distinct value converted once (a bulk request's rows share their timestamps), then the
driver's ``executemany``. Same stored bytes as an ORM or Core insert, without the per-row,
per-column Python calls that dominate a 100,000-row insert. On PostgreSQL (psycopg 3) the rows go
through ``COPY ... FROM STDIN`` instead, several times faster than any INSERT."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import LargeBinary, Table
from sqlalchemy.engine import Connection


def _memoised(process: Callable) -> Callable:
    cache: dict = {}

    def convert(value):
        try:
            return cache[value]
        except KeyError:
            result = cache[value] = process(value)
            return result
        except TypeError:  # unhashable (a JSON document): convert every time
            return process(value)

    return convert


@lru_cache(maxsize=64)
def _statement(dialect, table: Table, column_keys: tuple[str, ...]):
    """(SQL, parameter keys in order, positional?, bind processors) for inserting these columns:
    compiled once per process, since a single issuance inserts one row and compiling costs more."""
    columns = [table.c[key] for key in column_keys]
    compiled = table.insert().compile(dialect=dialect, column_keys=list(column_keys))
    processors = {}
    for column in columns:
        if isinstance(column.type, LargeBinary):
            continue  # both drivers take bytes as they are; the DBAPI Binary wrapper only costs time
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[column.key] = process
    keys = tuple(compiled.positiontup) if compiled.positional else column_keys  # type: ignore[arg-type]  # set when positional
    if not compiled.positional:
        assert set(compiled.binds) == set(keys), (list(compiled.binds), keys)  # bind names are the column keys
    return compiled.string, keys, compiled.positional, processors


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict], chunk: int = 5_000) -> None:
    """Insert ``rows`` (dicts with the same keys, all of them columns of ``table``)."""
    if not rows:
        return
    dialect = conn.dialect
    sql, keys, positional, processors = _statement(dialect, table, tuple(rows[0]))
    plan = [(k, _memoised(processors[k]) if k in processors else None) for k in keys]

    def converted(row):
        return [row[k] if p is None or row[k] is None else p(row[k]) for k, p in plan]

    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy(conn, table, list(keys), (converted(r) for r in rows))
        return
    if positional:

        def params(row):
            return tuple(converted(row))
    else:

        def params(row):
            return dict(zip(keys, converted(row)))

    for start in range(0, len(rows), chunk):
        conn.exec_driver_sql(sql, [params(r) for r in rows[start : start + chunk]])


def _copy(conn: Connection, table: Table, keys: list[str], values) -> None:
    """PostgreSQL's COPY through psycopg 3, in the connection's current transaction."""
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(table.c[k].name) for k in keys)
    raw: Any = conn.connection.driver_connection  # psycopg's connection (untyped here)
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)


@lru_cache(maxsize=256)
def _many_values(sql: str, count: int) -> str:
    head, keyword, values = sql.rpartition("VALUES ")
    return head + keyword + ", ".join([values] * count)


def insert_as_one_statement(conn: Connection, table: Table, rows: Sequence[dict]) -> None:
    """Insert a few ``rows`` (same keys) with one ``INSERT … VALUES (…), (…)`` on SQLite.

    Why: the sqlite3 module lets go of the interpreter lock for every row it steps, and a thread that
    wants it back waits for the running thread's turn to end (up to 5 ms). A writer doing one
    statement per row inside its transaction kept SQLite's write lock for 50-150 ms while the
    worker's other threads ran (measured, bench_issue_http); one statement per table needs the
    interpreter lock back once. Other databases get a plain executemany."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), list(rows))
        return
    sql, keys, positional, processors = _statement(conn.dialect, table, tuple(rows[0]))
    assert positional  # SQLite's qmark style
    plan = [(k, processors.get(k)) for k in keys]
    params = [row[k] if p is None or row[k] is None else p(row[k]) for row in rows for k, p in plan]
    conn.exec_driver_sql(_many_values(sql, len(rows)), tuple(params))


__all__ = ["bulk_insert", "insert_as_one_statement"]
