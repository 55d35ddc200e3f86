"""What the ledger's queries share: the columns of its tables, chunks under SQLite's
limit on bound variables, and ``IN`` lists bound as one array on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy.engine import Connection

CHUNK = 5000
# From this many transactions on, PostgreSQL gets them by COPY (3 round trips per table, but
# fastest per row); fewer go as one INSERT … SELECT unnest(arrays) per table.
COPY_FROM = 200
# Shared by every writer, taken exclusively by the sealer: when the sealer holds it, every
# transaction id handed out before has been committed or rolled back.
SEAL_LOCK = 0x43415049  # "CAPI"

TX_COLUMNS = (
    "id, idempotency_key, kind, posted_at, ref, metadata, pending_id, reverses_id, "
    "expires_at, leg_count"
)
POSTING_COLUMNS = "transaction_id, leg, account_id, unit, side, amount"
ACCOUNT_COLUMNS = "id, org, unit, type, code, balance_constraint, metadata, created_at"
BALANCE_COLUMNS = "debits_posted, credits_posted, debits_pending, credits_pending"


def pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def in_clause(conn: Connection, column: str, values: Sequence[Any]) -> tuple[str, Any]:
    """``column IN (...)``, the list bound as one array on PostgreSQL (a semi-join against
    unnest, which keeps the index in play where ``= ANY(array)`` may not)."""
    if pg(conn):
        array = "bigint[]" if all(type(v) is int for v in values) else "text[]"
        return f"{column} IN (SELECT unnest(%s::{array}))", (list(values),)
    return f"{column} IN ({','.join('?' * len(values))})", tuple(values)


def driver_of(conn: Connection) -> Any:
    """The driver's own connection under ``conn`` (same transaction)."""
    return conn.connection.driver_connection
