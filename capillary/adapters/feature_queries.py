"""The bulk reads behind organizations' features as of a day (``domain/features.py``): one
grouped query per kind of fact, each bounded by the day — a document's own date within the
window and its record made before the day ended; a status change by when the audit trail
recorded it — so that nothing after the day is read."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection

from capillary.adapters.driver_sql import is_pg, rows
from capillary.domain.features import COUNTS, QUARTER_DAYS, WINDOW_DAYS, Counted

DAY_US = 86_400_000_000


def _party(conn: Connection) -> str:
    """The organization that leads an audit key such as ``seller/number``."""
    if is_pg(conn):
        return "split_part(a.entity_key, '/', 1)"
    return "substr(a.entity_key, 1, instr(a.entity_key, '/') - 1)"


def _int(total: str) -> str:
    """A sum of integers read back as one (PostgreSQL sums ``bigint`` into ``numeric``,
    which the driver turns into a ``Decimal`` a value: a million of them cost seconds)."""
    return f"CAST({total} AS BIGINT)"


def _scan(conn: Connection, table: str) -> str:
    """``table`` read whole: on SQLite, not through an index (walking an index in its order
    and fetching each row costs three times a scan and a sort, for a million rows)."""
    return table if is_pg(conn) else f"{table} NOT INDEXED"


def _scatter(codes: Any, found: list[tuple[Any, ...]], into: list[Any]) -> None:
    """Rows of (organization, value, value, …), one per organization, into the arrays
    ``into`` at each organization's place in ``codes`` (sorted); an organization not
    registered by the day is left out."""
    if not found:
        return
    table = np.array(found, dtype=object)
    keys = table[:, 0].astype(str)
    at = np.minimum(np.searchsorted(codes, keys), len(codes) - 1)
    kept = codes[at] == keys
    values = table[kept, 1:].astype(float)
    for k, array in enumerate(into):
        array[at[kept]] += values[:, k]


def _invoiced(conn: Connection, *, scan: bool = True) -> str:
    """Invoices dated in the year up to a day and recorded before it ended (parameters: the
    window's first day, exclusive, the day, the instant after it)."""
    table = _scan(conn, "invoices") if scan else "invoices"
    return f"FROM {table} WHERE issue_date > ? AND issue_date <= ? AND created_at < ?"


def cores(conn: Connection, orgs: list[str] | None = None) -> list[str]:
    """The core enterprises (of ``orgs``, or all), in code order."""
    sql, params = "SELECT code FROM organizations WHERE roles LIKE ?", ["%core%"]
    if orgs is not None:
        if not orgs:
            return []
        sql += f" AND code IN ({', '.join('?' * len(orgs))})"
        params += orgs
    return sorted(r[0] for r in rows(conn, sql, params))  # roles: "core|supplier", sorted


def purchases(conn: Connection, day: date, start_us: int, buyers: list[str]) -> dict[str, int]:
    """What each of ``buyers`` was invoiced in the year up to the end of ``day`` (the base
    of a core's suggested issuance limit), read through the invoices' buyer index."""
    found = dict.fromkeys(buyers, 0)
    if not buyers:
        return found
    window = day - timedelta(days=WINDOW_DAYS)
    for buyer, total in rows(
        conn, f"SELECT buyer, {_int('SUM(total)')} {_invoiced(conn, scan=False)} "
        f"AND buyer IN ({', '.join('?' * len(buyers))}) GROUP BY buyer",
        [window, day, start_us + DAY_US, *buyers],
    ):  # fmt: skip
        found[buyer] = int(total)
    return found


def counted(conn: Connection, day: date, start_us: int) -> Counted:
    """Every organization registered by the end of ``day`` (``start_us``: the instant the
    day began, in the platform's time zone) with what it did up to then, each kind of fact
    counted in one grouped query to a row per organization."""
    end_us = start_us + DAY_US  # the first instant after the day
    window = day - timedelta(days=WINDOW_DAYS)
    window_us = end_us - WINDOW_DAYS * DAY_US
    q0, q1 = day - timedelta(days=QUARTER_DAYS), day - timedelta(days=2 * QUARTER_DAYS)
    binary = ' COLLATE "C"' if is_pg(conn) else ""  # code points, as numpy orders text
    registered = rows(conn, "SELECT code, created_at, roles FROM organizations "
                            f"WHERE created_at < ? ORDER BY code{binary}", [end_us])  # fmt: skip
    orgs = [r[0] for r in registered]
    codes = np.array(orgs, dtype=str)  # sorted by code point, for searchsorted
    c = {name: np.zeros(len(orgs)) for name in COUNTS}
    created = np.array([r[1] for r in registered], dtype=np.int64)
    c["tenure_days"] = np.maximum(0, (end_us - created) // DAY_US).astype(float)

    def scatter(sql: str, params: list[Any], *names: str) -> None:
        if orgs:
            _scatter(codes, rows(conn, sql, params), [c[n] for n in names])

    invoices = _invoiced(conn)
    scatter(
        f"SELECT seller, {_int('SUM(recent)')}, {_int('SUM(prior)')}, {_int('SUM(t)')}, "
        "SUM(n), SUM(CASE WHEN t > 0 THEN 1 ELSE 0 END), "
        "SUM(CAST(t AS DOUBLE PRECISION) * t) FROM (SELECT seller, buyer, "
        f"{_int('SUM(CASE WHEN issue_date > ? THEN total ELSE 0 END)')} recent, "
        f"{_int('SUM(CASE WHEN issue_date > ? AND issue_date <= ? THEN total ELSE 0 END)')} "
        f"prior, {_int('SUM(total)')} t, COUNT(*) n {invoices} GROUP BY seller, buyer) pairs "
        "GROUP BY seller",
        [q0, q1, q0, window, day, end_us],
        "sales_90d", "sales_prior_90d", "sales_365d", "invoices_365d", "buyers",
        "sales_squared",
    )  # fmt: skip
    scatter(f"SELECT buyer, {_int('SUM(total)')} {invoices} GROUP BY buyer",
            [window, day, end_us], "purchases_365d")  # fmt: skip
    scatter(
        f"SELECT buyer, COUNT(DISTINCT supplier) FROM {_scan(conn, 'purchase_orders')} "
        "WHERE order_date > ? "
        "AND order_date <= ? AND created_at < ? GROUP BY buyer", [window, day, end_us],
        "suppliers",
    )  # fmt: skip
    party = _party(conn)
    scatter(
        f"SELECT {party}, COUNT(DISTINCT a.entity_key) FROM audit_log a "
        "WHERE a.entity = 'invoice' AND a.action = 'exceptions' AND a.at >= ? AND a.at < ? "
        f"GROUP BY {party}", [window_us, end_us], "invoice_exceptions",
    )  # fmt: skip
    scatter(
        "SELECT supplier, COUNT(*) FROM deliveries WHERE delivered_on > ? "
        "AND delivered_on <= ? AND created_at < ? GROUP BY supplier", [window, day, end_us],
        "deliveries_365d",
    )  # fmt: skip
    scatter(
        f"SELECT {party}, COUNT(DISTINCT a.entity_key) FROM audit_log a "
        "WHERE a.entity = 'delivery' AND a.action IN ('accepted', 'received_accepted') "
        f"AND a.at >= ? AND a.at < ? GROUP BY {party}",
        [window_us, end_us],
        "deliveries_accepted",
    )  # fmt: skip  (accepted within the window, as recorded)
    scatter(
        "SELECT obligor, SUM(CASE WHEN issue_date > ? THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN maturity < ? THEN 1 ELSE 0 END) FROM certificates "
        "WHERE issue_date <= ? AND created_at < ? GROUP BY obligor", [window, day, day, end_us],
        "certificates_issued_365d", "certificates_matured",
    )  # fmt: skip
    scatter(
        "SELECT c.obligor, COUNT(DISTINCT c.id) FROM audit_log a "
        "JOIN certificates c ON c.number = a.entity_key "
        "WHERE a.entity = 'certificate' AND a.action = 'overdue' AND a.at < ? "
        "GROUP BY c.obligor", [end_us], "certificates_overdue",
    )  # fmt: skip
    moved = ("FROM fragments f LEFT JOIN fragments p ON p.id = f.parent_id "
             "WHERE f.created_at >= ? AND f.created_at < ? "
             "AND (p.id IS NULL OR p.holder <> f.holder)")  # fmt: skip
    amount = _int("SUM(f.amount)")
    scatter(f"SELECT f.holder, {amount} {moved} GROUP BY f.holder", [window_us, end_us],
            "certificates_in_365d")  # fmt: skip
    scatter(f"SELECT p.holder, {amount} {moved} AND p.id IS NOT NULL GROUP BY p.holder",
            [window_us, end_us], "certificates_out_365d")  # fmt: skip
    scatter(
        f"SELECT seller, COUNT(*), {_int('SUM(face)')} FROM financings WHERE financed_on > ? "
        "AND financed_on <= ? GROUP BY seller", [window, day],
        "financings_365d", "financed_365d",
    )  # fmt: skip
    return Counted(orgs, [r[2] for r in registered], c)


def went_bad(conn: Connection, start_us: int, end_us: int) -> set[str]:
    """The organizations that went bad in [``start_us``, ``end_us``): a certificate of
    theirs fell overdue, or a recourse claim was opened against them."""
    found = {o for (o,) in rows(
        conn, "SELECT DISTINCT c.obligor FROM audit_log a "
        "JOIN certificates c ON c.number = a.entity_key WHERE a.entity = 'certificate' "
        "AND a.action = 'overdue' AND a.at >= ? AND a.at < ?", [start_us, end_us],
    )}  # fmt: skip
    found |= {o for (o,) in rows(
        conn, "SELECT DISTINCT debtor FROM recourse_claims WHERE created_at >= ? "
        "AND created_at < ?", [start_us, end_us],
    )}  # fmt: skip
    return found
