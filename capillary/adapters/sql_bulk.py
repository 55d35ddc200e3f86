"""Bulk reads and writes shared by the repositories: rows by business keys, inserts
without and with new ids (COPY on PostgreSQL), chunks under SQLite's limit on bound
variables, decimals kept as text."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from capillary.adapters import driver_sql

CHUNK = 2000


def chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def by_keys(
    conn: Connection, table: sa.Table, columns: Sequence[str], keys: Iterable[tuple[str, ...]]
) -> list[Any]:
    """Rows of ``table`` whose ``columns`` equal one of ``keys`` (text business keys). On
    PostgreSQL a join against unnest(arrays), which probes the unique index whatever plan is
    cached; on SQLite row-value IN, in chunks."""
    keys = sorted(set(keys))
    if not keys:
        return []
    if driver_sql.is_pg(conn):
        arrays = ", ".join("%s::text[]" for _ in columns)
        on = " AND ".join(f"t.{c} = k.{c}" for c in columns)
        sql = (
            f"SELECT t.* FROM {table.name} t JOIN unnest({arrays}) AS k({', '.join(columns)}) "
            f"ON {on}"
        )
        return list(conn.exec_driver_sql(sql, tuple(list(c) for c in zip(*keys, strict=True))))
    # SQLite: straight to the driver (a use case's few keys cost more to compile as a
    # statement than to run), the table's dates read back as dates.
    names = [c.name for c in table.c]
    dates = [i for i, c in enumerate(table.c) if isinstance(c.type, sa.Date)]
    kind = _row_type(table)
    rows: list[Any] = []
    for chunk in chunks(keys):
        tuples = ", ".join(f"({driver_sql.marks(len(columns))})" for _ in chunk)
        sql = (f"SELECT {', '.join(names)} FROM {table.name} "
               f"WHERE ({', '.join(columns)}) IN (VALUES {tuples})")  # fmt: skip
        for r in driver_sql.rows(conn, sql, [v for key in chunk for v in key]):
            values = list(r)
            for i in dates:
                if isinstance(values[i], str):
                    values[i] = date.fromisoformat(values[i])
            rows.append(kind(*values))
    return rows


_ROW_TYPES: dict[str, Any] = {}


def _row_type(table: sa.Table) -> Any:
    """A named tuple of ``table``'s columns: rows read by attribute, as SQLAlchemy's are."""
    found = _ROW_TYPES.get(table.name)
    if found is None:
        found = _ROW_TYPES[table.name] = namedtuple(f"{table.name}_row", [c.name for c in table.c])
    return found


def bulk_insert(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows without needing their ids: COPY on PostgreSQL, executemany on
    SQLite."""
    if not rows:
        return
    columns = list(rows[0])
    if len(rows) < 64:  # a use case's few rows: one statement (COPY costs round trips)
        driver_sql.run_many(
            conn,
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({driver_sql.marks(len(columns))})",
            [[row[c] for c in columns] for row in rows],
        )
        return
    if not driver_sql.is_pg(conn):
        conn.execute(table.insert(), list(rows))
        return
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def insert_with_ids(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rows and return their new ids, in order: taken in one round trip, then the
    rows in bulk (PostgreSQL: from the table's sequence, then COPY)."""
    if not rows:
        return []
    if driver_sql.is_pg(conn):
        ids = [
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT nextval('{table.name}_id_seq') FROM generate_series(1, %s)", (len(rows),)
            )
        ]
        bulk_insert(conn, table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
        return ids
    # SQLite: the write lock (BEGIN IMMEDIATE) is ours, so the next ids are known.
    ((last,),) = driver_sql.rows(conn, f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")
    ids = list(range(last + 1, last + 1 + len(rows)))
    bulk_insert(conn, table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids


def decimal_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def text_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def dated(q: Any, column: Any, since: date | None, until: date | None) -> Any:
    """``q`` limited to rows whose ``column`` falls within the dates given (inclusive)."""
    if since is not None:
        q = q.where(column >= since)
    if until is not None:
        q = q.where(column <= until)
    return q
