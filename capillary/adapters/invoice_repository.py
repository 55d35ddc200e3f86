"""Every query of invoices (with their lines and match exceptions), payables, and the audit
log."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from capillary.adapters import driver_sql
from capillary.adapters import trade_tables as t
from capillary.adapters.sql_bulk import (
    bulk_insert,
    by_keys,
    chunks,
    dated,
    insert_with_ids,
)
from capillary.domain.matching import MatchException
from capillary.domain.payables import Payable, PayableStatus
from capillary.domain.trade import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
)

# ---------------------------------------------------------------- invoices


_LINE_COLUMNS = "invoice_id, line_no, order_line_no, quantity, unit_price, amount, tax_rate, tax"


def _invoices(conn: Connection, rows: Sequence[Any]) -> list[Invoice]:
    lines: dict[int, list[InvoiceLine]] = defaultdict(list)
    for chunk in chunks([r.id for r in rows]):
        for ln in driver_sql.rows(conn, f"SELECT {_LINE_COLUMNS} FROM invoice_lines WHERE "
                                        f"invoice_id IN ({driver_sql.marks(len(chunk))}) "
                                        "ORDER BY line_no", chunk):  # fmt: skip
            lines[ln[0]].append(InvoiceLine(ln[1], ln[2], Decimal(ln[3]), Decimal(ln[4]), ln[5],
                                            Decimal(ln[6]), ln[7]))  # fmt: skip
    return [
        Invoice(
            seller=r.seller,
            buyer=r.buyer,
            code=r.code or None,
            number=r.number,
            order_number=r.order_number,
            currency=r.currency,
            issue_date=r.issue_date,
            amount=r.amount,
            tax=r.tax,
            total=r.total,
            lines=tuple(lines[r.id]),
            status=InvoiceStatus(r.status),
            id=r.id,
        )
        for r in rows
    ]


def invoices_by_number(
    conn: Connection, keys: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], Invoice]:
    """Invoices by (seller, code or '', number)."""
    rows = by_keys(conn, t.invoices, ("seller", "code", "number"), keys)
    return {(x.seller, x.code or "", x.number): x for x in _invoices(conn, rows)}


def invoices_by_id(conn: Connection, ids: Iterable[int]) -> dict[int, Invoice]:
    i = t.invoices
    rows: list[Any] = []
    for chunk in chunks(sorted(set(ids))):
        rows += conn.execute(sa.select(i).where(i.c.id.in_(chunk)))
    return {x.id: x for x in _invoices(conn, rows)}


def invoice_exceptions(conn: Connection, invoice_id: int) -> list[dict[str, Any]]:
    (text,) = conn.execute(
        sa.select(t.invoices.c.exceptions).where(t.invoices.c.id == invoice_id)
    ).one()
    return list(json.loads(text)) if text else []


def list_invoices(
    conn: Connection, org: str | None, status: InvoiceStatus | None, limit: int,
    before: int | None = None, *, since: date | None = None, until: date | None = None,
) -> list[Invoice]:  # fmt: skip
    i = t.invoices
    q = dated(sa.select(i).order_by(i.c.id.desc()).limit(limit), i.c.issue_date, since,
               until)  # fmt: skip
    if before is not None:
        q = q.where(i.c.id < before)
    if org is not None:
        q = q.where(sa.or_(i.c.buyer == org, i.c.seller == org))
    if status is not None:
        q = q.where(i.c.status == status.value)
    return _invoices(conn, list(conn.execute(q)))


def insert_invoices(
    conn: Connection, invoices: Sequence[tuple[Invoice, int | None]], now: int
) -> list[int]:
    """Write invoices, each with the id of its order (``None`` when there is none)."""
    if not invoices:
        return []
    ids = insert_with_ids(
        conn,
        t.invoices,
        [
            {
                "seller": v.seller,
                "buyer": v.buyer,
                "code": v.code or "",
                "number": v.number,
                "order_number": v.order_number,
                "order_id": order_id,
                "currency": v.currency,
                "issue_date": v.issue_date,
                "amount": v.amount,
                "tax": v.tax,
                "total": v.total,
                "status": v.status.value,
                "exceptions": None,
                "created_at": now,
            }
            for v, order_id in invoices
        ],
    )
    bulk_insert(
        conn,
        t.invoice_lines,
        [
            {
                "invoice_id": invoice_id,
                "line_no": ln.line_no,
                "order_line_no": ln.order_line_no,
                "quantity": str(ln.quantity),
                "unit_price": str(ln.unit_price),
                "amount": ln.amount,
                "tax_rate": str(ln.tax_rate),
                "tax": ln.tax,
            }
            for invoice_id, (v, _) in zip(ids, invoices, strict=True)
            for ln in v.lines
        ],
    )
    return ids


def billed_quantities(
    conn: Connection, order_ids: Iterable[int], *, excluding: Iterable[int]
) -> dict[int, dict[int, Decimal]]:
    """Per order and order line, the quantity billed by matched or confirmed invoices other
    than ``excluding``."""
    skip = set(excluding)
    out: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    if driver_sql.is_pg(
        conn
    ):  # probe the indexes from the ids, whatever the (stale) statistics say
        found = conn.exec_driver_sql(
            "SELECT i.id, i.order_id, il.order_line_no, il.quantity "
            "FROM unnest(%s::bigint[]) AS k(order_id) "
            "JOIN invoices i ON i.order_id = k.order_id "
            "JOIN invoice_lines il ON il.invoice_id = i.id "
            "WHERE i.status IN ('matched', 'confirmed')",
            (sorted(set(order_ids)),),
        )
        for invoice_id, order_id, line_no, quantity in found:
            if invoice_id not in skip:
                out[order_id][line_no] += Decimal(quantity)
        return out
    for chunk in chunks(sorted(set(order_ids))):
        rows = driver_sql.rows(
            conn,
            "SELECT i.id, i.order_id, il.order_line_no, il.quantity FROM invoices i "
            "JOIN invoice_lines il ON il.invoice_id = i.id "
            f"WHERE i.order_id IN ({driver_sql.marks(len(chunk))}) "
            "AND i.status IN ('matched', 'confirmed')",
            list(chunk),
        )
        for invoice_id, order_id, line_no, quantity in rows:
            if invoice_id not in skip:
                out[order_id][line_no] += Decimal(quantity)
    return out


def record_matches(
    conn: Connection, results: Sequence[tuple[int, InvoiceStatus, Sequence[MatchException]]]
) -> None:
    if not results:
        return
    rows = [
        (
            invoice_id,
            status.value,
            json.dumps([{"code": e.code, "line": e.line_no, "message": e.message} for e in found])
            if found
            else None,
        )
        for invoice_id, status, found in results
    ]
    if driver_sql.is_pg(conn):
        conn.exec_driver_sql(
            "UPDATE invoices AS i SET status = d.status, exceptions = d.exceptions "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS d(id, status, exceptions) "
            "WHERE i.id = d.id",
            tuple(list(c) for c in zip(*rows, strict=True)),
        )
        return
    driver_sql.run_many(conn, "UPDATE invoices SET status = ?, exceptions = ? WHERE id = ?",
                        [(st, f, i) for i, st, f in rows])  # fmt: skip


def set_invoice_status(conn: Connection, invoice_id: int, status: InvoiceStatus) -> None:
    conn.execute(
        t.invoices.update().where(t.invoices.c.id == invoice_id).values(status=status.value)
    )


# ---------------------------------------------------------------- payables


def _payable(r: Any) -> Payable:
    return Payable(
        id=r.id,
        invoice_id=r.invoice_id,
        buyer=r.buyer,
        supplier=r.supplier,
        currency=r.currency,
        amount=r.amount,
        open_amount=r.open_amount,
        due_date=r.due_date,
        status=PayableStatus(r.status),
        override_reason=r.override_reason,
    )


def insert_payable(
    conn: Connection,
    *,
    invoice: Invoice,
    due_date: date,
    override_reason: str | None,
    now: int,
) -> int:
    return int(
        conn.execute(
            t.payables.insert().returning(t.payables.c.id),
            {
                "invoice_id": invoice.id,
                "buyer": invoice.buyer,
                "supplier": invoice.seller,
                "currency": invoice.currency,
                "amount": invoice.total,
                "open_amount": invoice.total,
                "due_date": due_date,
                "status": PayableStatus.OPEN.value,
                "override_reason": override_reason,
                "created_at": now,
            },
        ).scalar_one()
    )


def payable(conn: Connection, payable_id: int, *, lock: bool = False) -> Payable | None:
    """A payable; ``lock`` holds its row (PostgreSQL) for a read-modify-write of its open
    amount."""
    q = sa.select(t.payables).where(t.payables.c.id == payable_id)
    if lock and driver_sql.is_pg(conn):
        q = q.with_for_update()
    r = conn.execute(q).first()
    return None if r is None else _payable(r)


def payable_for_invoice(conn: Connection, invoice_id: int) -> Payable | None:
    r = conn.execute(sa.select(t.payables).where(t.payables.c.invoice_id == invoice_id)).first()
    return None if r is None else _payable(r)


def list_payables(
    conn: Connection, org: str | None, limit: int, before: int | None = None, *,
    status: str | None = None, due_from: date | None = None, due_to: date | None = None,
) -> list[Payable]:  # fmt: skip
    p = t.payables
    q = sa.select(p).order_by(p.c.id.desc()).limit(limit)
    if status is not None:
        q = q.where(p.c.status == status)
    if due_from is not None:
        q = q.where(p.c.due_date >= due_from)
    if due_to is not None:
        q = q.where(p.c.due_date <= due_to)
    if before is not None:
        q = q.where(p.c.id < before)
    if org is not None:
        q = q.where(sa.or_(p.c.buyer == org, p.c.supplier == org))
    return [_payable(r) for r in conn.execute(q)]


def set_open_amount(conn: Connection, payable_id: int, open_amount: int) -> None:
    status = PayableStatus.OPEN if open_amount else PayableStatus.CLOSED
    conn.execute(
        t.payables.update()
        .where(t.payables.c.id == payable_id)
        .values(open_amount=open_amount, status=status.value)
    )


# ---------------------------------------------------------------- audit


def insert_audit(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    bulk_insert(conn, t.audit_log, rows)


def recent_audit(conn: Connection, *, before: int | None, limit: int) -> list[dict[str, Any]]:
    """The audit trail, newest first (``before``: an entry id to page under)."""
    a = t.audit_log
    query = sa.select(a).order_by(a.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(a.c.id < before)
    return [
        {"id": r.id, "entity": r.entity, "key": r.entity_key, "action": r.action,
         "actor": r.actor, "at": r.at}
        for r in conn.execute(query)
    ]  # fmt: skip


def audit_for(conn: Connection, entity: str, key: str) -> list[dict[str, Any]]:
    a = t.audit_log
    rows = conn.execute(
        sa.select(a).where(a.c.entity == entity, a.c.entity_key == key).order_by(a.c.id)
    )
    return [
        {"action": r.action, "actor": r.actor, "at": r.at,
         "detail": json.loads(r.detail) if r.detail else None}
        for r in rows
    ]  # fmt: skip
