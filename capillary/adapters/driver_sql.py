"""Statements sent straight to the database driver, for the single-operation hot path.

Building a SQLAlchemy expression, its cache key and its result proxy costs tens of
microseconds a statement: more than SQLite takes to run a keyed read. The queries a
transfer or a financing makes on every call are written once, in SQL with ``?``
placeholders (translated to ``%s`` for psycopg), and run on the driver's cursor inside the
unit of work SQLAlchemy opened — the same transaction, no second connection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy.engine import Connection


def is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


@cache
def _pg_style(sql: str) -> str:
    return sql.replace("?", "%s")


def _cursor(conn: Connection) -> Any:
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of a query (``?`` placeholders)."""
    cursor = _cursor(conn)
    cursor.execute(_pg_style(sql) if is_pg(conn) else sql, tuple(params))
    found: list[tuple[Any, ...]] = cursor.fetchall()
    return found


def run(conn: Connection, sql: str, params: Sequence[Any] = ()) -> int:
    """Run a statement; the rows it changed."""
    cursor = _cursor(conn)
    cursor.execute(_pg_style(sql) if is_pg(conn) else sql, tuple(params))
    changed: int = cursor.rowcount
    return changed


def run_many(conn: Connection, sql: str, params: Sequence[Sequence[Any]]) -> None:
    """Run a statement once per parameter row (one round trip on psycopg, which pipelines
    executemany)."""
    if params:
        _cursor(conn).executemany(
            _pg_style(sql) if is_pg(conn) else sql, [tuple(p) for p in params]
        )


def marks(count: int) -> str:
    """``?, ?, ?`` for an IN list."""
    return ", ".join("?" * count)


def day(value: Any) -> date:
    """A DATE column as read by either driver (SQLite keeps it as ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def pipelined(conn: Connection, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
    """Several statements (``?`` placeholders) in one round trip on PostgreSQL (psycopg's
    pipeline), one after another on SQLite: each query's rows, or for a statement that
    returns none, the rows it changed."""
    if not is_pg(conn):
        out: list[Any] = []
        for sql, params in queries:
            cursor = _cursor(conn)
            cursor.execute(sql, tuple(params))
            out.append(cursor.fetchall() if cursor.description else cursor.rowcount)
        return out
    driver: Any = conn.connection.driver_connection
    with driver.pipeline() as pipeline:
        cursors = [driver.cursor() for _ in queries]
        for cursor, (sql, params) in zip(cursors, queries, strict=True):
            cursor.execute(_pg_style(sql), tuple(params))
        pipeline.sync()  # one round trip: every result is in
        return [c.fetchall() if c.description else c.rowcount for c in cursors]
