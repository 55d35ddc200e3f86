"""Exports for the participants' own tools (issue 15): the ledger as beancount, and the
documents, fragments and postings as CSV or Parquet.

Each export reads one snapshot of the store (a repeatable-read transaction on PostgreSQL,
SQLite's read transaction), so what it writes adds up even while the platform runs. The
whole platform's books and tables are the operator's and the auditors'; an organization
exports its own part of the ledger."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.engine import Connection

from capillary.adapters import export_queries as q
from capillary.adapters.clock import Clock, business_date
from capillary.adapters.database import Database
from capillary.adapters.driver_sql import is_pg
from capillary.domain import beancount as bc
from capillary.domain.access import Principal, staff_only
from capillary.domain.errors import Forbidden, OrganizationNotFound, ValidationError

FORMATS = ("csv", "parquet")
_ARROW = {
    "bigint": pa.int64(),
    "int8": pa.int64(),
    "integer": pa.int64(),
    "int4": pa.int64(),
    "int2": pa.int64(),
    "boolean": pa.bool_(),
    "bool": pa.bool_(),
    "date": pa.string(),
    "float": pa.float64(),
    "float8": pa.float64(),
    "double precision": pa.float64(),
}  # fmt: skip  (anything else is text)


def _snapshot(conn: Connection) -> None:
    if is_pg(conn):
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


def _arrow_type(sql_type: str) -> Any:
    return _ARROW.get(sql_type.split("(")[0].strip(), pa.string())


class ExportService:
    def __init__(self, db: Database, *, clock: Clock, timezone: str) -> None:
        self.db = db
        self.clock = clock
        self.zone = ZoneInfo(timezone)

    def beancount(self, out: TextIO, *, principal: Principal, org: str | None = None) -> int:
        """The ledger (or ``org``'s accounts and the entries that touch them) as a
        beancount file written to ``out``; returns the entries written."""
        if org is None and not principal.sees_everything:
            raise Forbidden(f"The whole platform's books are the operator's and the "
                            f"auditors' to export; {principal.org} exports its own "
                            f"(--org {principal.org}).")  # fmt: skip
        if org is not None and org != principal.org and not principal.sees_everything:
            raise OrganizationNotFound(f"No organization {org!r} whose books you may export.")
        today = business_date(self.clock, self.zone.key)

        def work(conn: Connection) -> int:
            _snapshot(conn)
            accounts = q.book_accounts(conn, org, self.zone)
            if org is not None and not accounts:
                raise OrganizationNotFound(f"{org!r} has no accounts on the platform.")
            units, exponents = q.units_of_accounts(conn)
            names = bc.names(accounts, exponents)
            title = f"Capillary — {org or 'the whole platform'}"
            for line in bc.header(title, accounts, names, "CNY", counterparties=org is not None):
                out.write(line + "\n")
            mine = {a.id: a for a in accounts}
            written, after, last = 0, 0, today
            while page := q.book_entries(conn, org, self.zone, after):
                for e in page:
                    for line in bc.entry(e, mine, units, names):
                        out.write(line + "\n")
                    out.write("\n")
                    last = max(last, e.day)
                written += len(page)
                after = page[-1].id
            on = max(last, today) + timedelta(days=1)
            for line in bc.balances(accounts, names, on):
                out.write(line + "\n")
            return written

        return self.db.transaction(work, readonly=True)

    def tables(
        self, directory: Path, *, principal: Principal, fmt: str = "csv",
        only: list[str] | None = None, say: Callable[[str], None] = lambda _: None,
    ) -> dict[str, int]:  # fmt: skip
        """The documents, fragments and postings, one file per table in ``directory``
        (``orders.csv``, …); returns each table's row count."""
        staff_only(principal, "the platform's tables", "export")
        if fmt not in FORMATS:
            raise ValidationError(f"An export is csv or parquet, not {fmt!r}.")
        chosen = only or list(q.TABLES)
        unknown = sorted(set(chosen) - set(q.TABLES))
        if unknown:
            raise ValidationError(f"No table {', '.join(unknown)} to export; the tables are "
                                  f"{', '.join(q.TABLES)}.")  # fmt: skip
        directory.mkdir(parents=True, exist_ok=True)

        def work(conn: Connection) -> dict[str, int]:
            _snapshot(conn)
            counts = {}
            for name in chosen:
                say(f"Exporting {name}…")
                path = directory / f"{name}.{fmt}"
                write = _csv if fmt == "csv" else _parquet
                counts[name] = write(conn, name, path)
            return counts

        return self.db.transaction(work, readonly=True)


def _csv(conn: Connection, name: str, path: Path) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([c for c, _ in q.table_columns(conn, name)])
        for _, page in q.table_pages(conn, name):
            writer.writerows(page)
            count += len(page)
    return count


def _parquet(conn: Connection, name: str, path: Path) -> int:
    schema = pa.schema([(c, _arrow_type(t)) for c, t in q.table_columns(conn, name)])
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        for columns, page in q.table_pages(conn, name):
            data = {c: [_plain(r[i]) for r in page] for i, c in enumerate(columns)}
            writer.write_table(pa.Table.from_pydict(data, schema=schema))
            count += len(page)
    return count


def _plain(value: Any) -> Any:
    """A value as Parquet holds it here: dates as ISO text, bytes as hex."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
