"""The bulk reads behind organizations' features as of a day (``domain/features.py``): one
grouped query per kind of fact, each bounded by the day — a document's own date within the
window and its record made before the day ended; a status change by when the audit trail
recorded it — so that nothing after the day is read."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.engine import Connection

from capillary.adapters.driver_sql import is_pg, rows
from capillary.domain.features import QUARTER_DAYS, WINDOW_DAYS, Tally

DAY_US = 86_400_000_000


def _party(conn: Connection) -> str:
    """The organization that leads an audit key such as ``seller/number``."""
    if is_pg(conn):
        return "split_part(a.entity_key, '/', 1)"
    return "substr(a.entity_key, 1, instr(a.entity_key, '/') - 1)"


def tallies(conn: Connection, day: date, start_us: int) -> dict[str, Tally]:
    """Every organization registered by the end of ``day`` (``start_us``: the instant the
    day began, in the platform's time zone) with what it did up to then."""
    end_us = start_us + DAY_US  # the first instant after the day
    window = day - timedelta(days=WINDOW_DAYS)
    window_us = end_us - WINDOW_DAYS * DAY_US
    q0, q1 = day - timedelta(days=QUARTER_DAYS), day - timedelta(days=2 * QUARTER_DAYS)
    found: dict[str, Tally] = {}
    for code, created, roles in rows(conn, "SELECT code, created_at, roles FROM organizations "
                                           "WHERE created_at < ?", [end_us]):  # fmt: skip
        found[code] = Tally(tenure_days=max(0, (end_us - created) // DAY_US), roles=roles)

    def of(org: str) -> Tally | None:
        return found.get(org)

    for seller, buyer, recent, prior, total, n in rows(
        conn, "SELECT seller, buyer, SUM(CASE WHEN issue_date > ? THEN total ELSE 0 END), "
        "SUM(CASE WHEN issue_date > ? AND issue_date <= ? THEN total ELSE 0 END), "
        "SUM(total), COUNT(*) FROM invoices WHERE issue_date > ? AND issue_date <= ? "
        "AND created_at < ? GROUP BY seller, buyer", [q0, q1, q0, window, day, end_us],
    ):  # fmt: skip
        if (t := of(seller)) is not None:
            t.sales_90d += int(recent)
            t.sales_prior_90d += int(prior)
            t.sales_365d += int(total)
            t.invoices_365d += int(n)
            if t.sales_by_buyer is None:
                t.sales_by_buyer = {}
            t.sales_by_buyer[buyer] = int(total)
        if (t := of(buyer)) is not None:
            t.purchases_365d += int(total)
    for buyer, n in rows(
        conn, "SELECT buyer, COUNT(DISTINCT supplier) FROM purchase_orders WHERE order_date > ? "
        "AND order_date <= ? AND created_at < ? GROUP BY buyer", [window, day, end_us],
    ):  # fmt: skip
        if (t := of(buyer)) is not None:
            t.suppliers = int(n)
    party = _party(conn)
    for seller, n in rows(
        conn, f"SELECT {party}, COUNT(DISTINCT a.entity_key) FROM audit_log a "
        "WHERE a.entity = 'invoice' AND a.action = 'exceptions' AND a.at >= ? AND a.at < ? "
        f"GROUP BY {party}", [window_us, end_us],
    ):  # fmt: skip
        if (t := of(seller)) is not None:
            t.invoice_exceptions = int(n)
    for supplier, n in rows(
        conn, "SELECT supplier, COUNT(*) FROM deliveries WHERE delivered_on > ? "
        "AND delivered_on <= ? AND created_at < ? GROUP BY supplier", [window, day, end_us],
    ):  # fmt: skip
        if (t := of(supplier)) is not None:
            t.deliveries_365d = int(n)
    for supplier, n in rows(
        conn,
        f"SELECT {party}, COUNT(DISTINCT a.entity_key) FROM audit_log a "
        "WHERE a.entity = 'delivery' AND a.action IN ('accepted', 'received_accepted') "
        f"AND a.at >= ? AND a.at < ? GROUP BY {party}",
        [window_us, end_us],
    ):  # fmt: skip  (accepted within the window, as recorded)
        if (t := of(supplier)) is not None:
            t.deliveries_accepted = int(n)
    for obligor, issued, matured in rows(
        conn, "SELECT obligor, SUM(CASE WHEN issue_date > ? THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN maturity < ? THEN 1 ELSE 0 END) FROM certificates "
        "WHERE issue_date <= ? AND created_at < ? GROUP BY obligor", [window, day, day, end_us],
    ):  # fmt: skip
        if (t := of(obligor)) is not None:
            t.certificates_issued_365d = int(issued)
            t.certificates_matured = int(matured)
    for obligor, n in rows(
        conn, "SELECT c.obligor, COUNT(DISTINCT c.id) FROM audit_log a "
        "JOIN certificates c ON c.number = a.entity_key "
        "WHERE a.entity = 'certificate' AND a.action = 'overdue' AND a.at < ? "
        "GROUP BY c.obligor", [end_us],
    ):  # fmt: skip
        if (t := of(obligor)) is not None:
            t.certificates_overdue = int(n)
    for holder, giver, amount in rows(
        conn, "SELECT f.holder, p.holder, SUM(f.amount) FROM fragments f "
        "LEFT JOIN fragments p ON p.id = f.parent_id "
        "WHERE f.created_at >= ? AND f.created_at < ? "
        "AND (p.id IS NULL OR p.holder <> f.holder) GROUP BY f.holder, p.holder",
        [window_us, end_us],
    ):  # fmt: skip
        if (t := of(holder)) is not None:
            t.certificates_in_365d += int(amount)
        if giver is not None and (t := of(giver)) is not None:
            t.certificates_out_365d += int(amount)
    for seller, n, face in rows(
        conn, "SELECT seller, COUNT(*), SUM(face) FROM financings WHERE financed_on > ? "
        "AND financed_on <= ? GROUP BY seller", [window, day],
    ):  # fmt: skip
        if (t := of(seller)) is not None:
            t.financings_365d = int(n)
            t.financed_365d = int(face)
    return found


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
