"""The reads behind the exports (issue 15): the ledger's accounts and posted entries, in
pages by id so that no export holds the whole history, and the tables of documents,
fragments and postings as rows with their column types."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from capillary.adapters.clock import from_us
from capillary.adapters.driver_sql import is_pg, rows
from capillary.domain.beancount import BookAccount, BookEntry, BookLeg
from capillary.domain.ledger import POSTING_KINDS

PAGE = 5_000
_KINDS = ", ".join(f"'{k.value}'" for k in sorted(POSTING_KINDS))


def _day(us: int, zone: ZoneInfo) -> date:
    return from_us(us).astimezone(zone).date()


def book_accounts(conn: Connection, org: str | None, zone: ZoneInfo) -> list[BookAccount]:
    sql = ("SELECT a.id, a.org, a.type, a.code, a.unit, u.exponent, a.created_at, "
           "a.debits_posted - a.credits_posted FROM accounts a "
           "JOIN units u ON u.code = a.unit")  # fmt: skip
    params: list[Any] = []
    if org is not None:
        sql += " WHERE a.org = ?"
        params.append(org)
    return [BookAccount(r[0], r[1], r[2], r[3], r[4], r[5], _day(r[6], zone), int(r[7]))
            for r in rows(conn, sql + " ORDER BY a.id", params)]  # fmt: skip


def units_of_accounts(conn: Connection) -> tuple[dict[int, str], dict[str, int]]:
    """Every account's unit, and every unit's exponent."""
    units = {r[0]: r[1] for r in rows(conn, "SELECT id, unit FROM accounts")}
    exponents = {r[0]: int(r[1]) for r in rows(conn, "SELECT code, exponent FROM units")}
    return units, exponents


def book_entries(conn: Connection, org: str | None, zone: ZoneInfo, after: int) -> list[BookEntry]:
    """The next page of posted entries after transaction ``after`` (of those touching
    ``org``'s accounts, if named), each with all its legs."""
    touching = ""
    params: list[Any] = [after]
    if org is not None:
        touching = (" AND t.id IN (SELECT p.transaction_id FROM postings p JOIN accounts a "
                    "ON a.id = p.account_id WHERE a.org = ? AND p.transaction_id > ?)")  # fmt: skip
        params += [org, after]
    heads = rows(conn, f"SELECT t.id, t.posted_at, t.ref FROM transactions t WHERE t.id > ? "
                       f"AND t.kind IN ({_KINDS}){touching} ORDER BY t.id LIMIT {PAGE}",
                 params)  # fmt: skip
    if not heads:
        return []
    legs: dict[int, list[BookLeg]] = {h[0]: [] for h in heads}
    for tx, account, side, amount in rows(
        conn, "SELECT transaction_id, account_id, side, amount FROM postings "
        "WHERE transaction_id >= ? AND transaction_id <= ? ORDER BY transaction_id, leg",
        [heads[0][0], heads[-1][0]],
    ):  # fmt: skip
        if tx in legs:
            legs[tx].append(BookLeg(account, side == "D", int(amount)))
    return [BookEntry(h[0], _day(h[1], zone), h[2] or "", tuple(legs[h[0]])) for h in heads]


#: Each exported table: its query (ordered by a unique key, paged after it) and that key.
TABLES: dict[str, str] = {
    "orders": "SELECT * FROM purchase_orders",
    "order_lines": "SELECT * FROM order_lines",
    "deliveries": "SELECT * FROM deliveries",
    "delivery_lines": "SELECT * FROM delivery_lines",
    "invoices": "SELECT * FROM invoices",
    "invoice_lines": "SELECT * FROM invoice_lines",
    "payables": "SELECT * FROM payables",
    "certificates": "SELECT * FROM certificates",
    "fragments": "SELECT * FROM fragments",
    "postings": (
        "SELECT p.transaction_id, p.leg, t.kind, t.posted_at, t.ref, p.account_id, a.org, "
        "a.code AS account_code, p.unit, u.exponent, p.side, p.amount FROM postings p "
        "JOIN transactions t ON t.id = p.transaction_id JOIN accounts a ON a.id = p.account_id "
        "JOIN units u ON u.code = p.unit"
    ),
}


def table_pages(conn: Connection, name: str) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
    """``name``'s rows in pages, with the column names (one server-side cursor on
    PostgreSQL; SQLite reads in steps from its own cursor)."""
    order = "1, 2" if name == "postings" else "1"
    sql = f"SELECT * FROM ({TABLES[name]}) x ORDER BY {order}"
    cursor = conn.connection.driver_connection.cursor(  # type: ignore[union-attr]
        **({"name": f"export_{name}"} if is_pg(conn) else {})
    )
    cursor.execute(sql)
    columns: list[str] | None = None
    while True:
        page = cursor.fetchmany(PAGE)
        if columns is None:
            columns = [d[0] for d in cursor.description]
        if not page:
            break
        yield columns, page
    cursor.close()


def table_columns(conn: Connection, name: str) -> list[tuple[str, str]]:
    """``name``'s columns and their SQL types, from a query that returns no row."""
    if is_pg(conn):
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(f"SELECT * FROM ({TABLES[name]}) x LIMIT 0")
        types = {r[0]: r[1] for r in rows(conn, "SELECT oid, typname FROM pg_type")}
        return [(d.name, str(types.get(d.type_code, "text"))) for d in cursor.description]
    first = TABLES[name].split(" FROM ", 1)[1].split()[0]
    if name != "postings":
        return [(r[1], str(r[2]).lower()) for r in rows(conn, f"PRAGMA table_info({first})")]
    return [("transaction_id", "bigint"), ("leg", "integer"), ("kind", "varchar"),
            ("posted_at", "bigint"), ("ref", "varchar"), ("account_id", "bigint"),
            ("org", "varchar"), ("account_code", "varchar"), ("unit", "varchar"),
            ("exponent", "integer"), ("side", "varchar"), ("amount", "bigint")]  # fmt: skip
