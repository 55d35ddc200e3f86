"""Every query of the trade documents: orders (with their lines and versions) and
deliveries (with their acceptance). Functions take an open connection and work on lists, so a
bulk import and a single document go the same way."""

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
    decimal_or_none,
    insert_with_ids,
    text_or_none,
)
from capillary.domain.trade import (
    Delivery,
    DeliveryLine,
    DeliveryStatus,
    OrderLine,
    OrderStatus,
    PurchaseOrder,
)

# ---------------------------------------------------------------- orders


def _order_lines(conn: Connection, order_ids: Sequence[int]) -> dict[int, list[OrderLine]]:
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for chunk in chunks(order_ids):
        rows = driver_sql.rows(
            conn,
            "SELECT order_id, line_no, item, description, quantity, uom, unit_price, tax_rate "
            f"FROM order_lines WHERE order_id IN ({driver_sql.marks(len(chunk))}) "
            "ORDER BY order_id, line_no",
            list(chunk),
        )
        for r in rows:
            lines[r[0]].append(
                OrderLine(r[1], r[2], r[3], Decimal(r[4]), r[5], Decimal(r[6]), Decimal(r[7]))
            )
    return lines


def _orders(conn: Connection, rows: Sequence[Any]) -> list[PurchaseOrder]:
    lines = _order_lines(conn, [r.id for r in rows])
    return [
        PurchaseOrder(
            number=r.number,
            buyer=r.buyer,
            supplier=r.supplier,
            currency=r.currency,
            order_date=r.order_date,
            expected_date=r.expected_date,
            lines=tuple(lines[r.id]),
            status=OrderStatus(r.status),
            version=r.version,
            id=r.id,
        )
        for r in rows
    ]


def orders_by_number(
    conn: Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], PurchaseOrder]:
    """Orders by (buyer, number)."""
    rows = by_keys(conn, t.purchase_orders, ("buyer", "number"), keys)
    return {(o.buyer, o.number): o for o in _orders(conn, rows)}


def orders_by_id(conn: Connection, ids: Iterable[int]) -> dict[int, PurchaseOrder]:
    po = t.purchase_orders
    rows: list[Any] = []
    for chunk in chunks(sorted(set(ids))):
        rows += conn.execute(sa.select(po).where(po.c.id.in_(chunk)))
    return {o.id: o for o in _orders(conn, rows)}


def list_orders(
    conn: Connection, org: str | None, limit: int, before: int | None = None, *,
    since: date | None = None, until: date | None = None,
) -> list[PurchaseOrder]:  # fmt: skip
    po = t.purchase_orders
    q = dated(sa.select(po).order_by(po.c.id.desc()).limit(limit), po.c.order_date, since,
               until)  # fmt: skip
    if before is not None:
        q = q.where(po.c.id < before)
    if org is not None:
        q = q.where(sa.or_(po.c.buyer == org, po.c.supplier == org))
    return _orders(conn, list(conn.execute(q)))


def _line_rows(order_id: int, lines: Sequence[OrderLine]) -> list[dict[str, Any]]:
    return [
        {
            "order_id": order_id,
            "line_no": ln.line_no,
            "item": ln.item,
            "description": ln.description,
            "quantity": str(ln.quantity),
            "uom": ln.uom,
            "unit_price": str(ln.unit_price),
            "tax_rate": str(ln.tax_rate),
        }
        for ln in lines
    ]


def insert_orders(conn: Connection, orders: Sequence[PurchaseOrder], now: int) -> list[int]:
    if not orders:
        return []
    ids = insert_with_ids(
        conn,
        t.purchase_orders,
        [
            {
                "buyer": o.buyer,
                "supplier": o.supplier,
                "number": o.number,
                "currency": o.currency,
                "order_date": o.order_date,
                "expected_date": o.expected_date,
                "status": o.status.value,
                "version": o.version,
                "created_at": now,
            }
            for o in orders
        ],
    )
    rows = [
        row
        for order_id, o in zip(ids, orders, strict=True)
        for row in _line_rows(order_id, o.lines)
    ]
    bulk_insert(conn, t.order_lines, rows)
    return ids


def replace_order(conn: Connection, order: PurchaseOrder) -> None:
    """Write an amended or cancelled order over the current one (its history is kept in
    order_versions by the caller)."""
    po = t.purchase_orders
    conn.execute(
        po.update()
        .where(po.c.id == order.id)
        .values(
            currency=order.currency,
            order_date=order.order_date,
            expected_date=order.expected_date,
            status=order.status.value,
            version=order.version,
        )
    )
    conn.execute(t.order_lines.delete().where(t.order_lines.c.order_id == order.id))
    conn.execute(t.order_lines.insert(), _line_rows(order.id, order.lines))


def insert_order_versions(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    bulk_insert(conn, t.order_versions, rows)


def order_versions(conn: Connection, order_id: int) -> list[dict[str, Any]]:
    ov = t.order_versions
    rows = conn.execute(sa.select(ov).where(ov.c.order_id == order_id).order_by(ov.c.version))
    return [
        {"version": r.version, "reason": r.reason, "actor": r.actor, "at": r.at,
         "order": json.loads(r.snapshot)}
        for r in rows
    ]  # fmt: skip


# ---------------------------------------------------------------- deliveries


def _deliveries(conn: Connection, rows: Sequence[Any]) -> list[Delivery]:
    dl = t.delivery_lines
    lines: dict[int, list[DeliveryLine]] = defaultdict(list)
    for chunk in chunks([r.id for r in rows]):
        for ln in conn.execute(
            sa.select(dl).where(dl.c.delivery_id.in_(chunk)).order_by(dl.c.order_line_no)
        ):
            lines[ln.delivery_id].append(
                DeliveryLine(
                    ln.order_line_no,
                    Decimal(ln.quantity),
                    decimal_or_none(ln.accepted),
                    decimal_or_none(ln.rejected),
                )
            )
    numbers = {o.id: o.number for o in orders_by_id(conn, [r.order_id for r in rows]).values()}
    return [
        Delivery(
            number=r.number,
            order_number=numbers[r.order_id],
            buyer=r.buyer,
            supplier=r.supplier,
            delivered_on=r.delivered_on,
            lines=tuple(lines[r.id]),
            status=DeliveryStatus(r.status),
            id=r.id,
        )
        for r in rows
    ]


def deliveries_by_number(
    conn: Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Delivery]:
    """Deliveries by (supplier, number)."""
    rows = by_keys(conn, t.deliveries, ("supplier", "number"), keys)
    return {(x.supplier, x.number): x for x in _deliveries(conn, rows)}


def list_deliveries(
    conn: Connection, org: str | None, limit: int, before: int | None = None, *,
    since: date | None = None, until: date | None = None,
) -> list[Delivery]:  # fmt: skip
    d = t.deliveries
    q = dated(sa.select(d).order_by(d.c.id.desc()).limit(limit), d.c.delivered_on, since,
               until)  # fmt: skip
    if before is not None:
        q = q.where(d.c.id < before)
    if org is not None:
        q = q.where(sa.or_(d.c.buyer == org, d.c.supplier == org))
    return _deliveries(conn, list(conn.execute(q)))


def insert_deliveries(
    conn: Connection, deliveries: Sequence[tuple[Delivery, int]], now: int
) -> list[int]:
    """Write deliveries, each with the id of its order."""
    if not deliveries:
        return []
    ids = insert_with_ids(
        conn,
        t.deliveries,
        [
            {
                "order_id": order_id,
                "buyer": d.buyer,
                "supplier": d.supplier,
                "number": d.number,
                "delivered_on": d.delivered_on,
                "status": d.status.value,
                "created_at": now,
            }
            for d, order_id in deliveries
        ],
    )
    bulk_insert(
        conn,
        t.delivery_lines,
        [
            {
                "delivery_id": delivery_id,
                "order_line_no": ln.order_line_no,
                "quantity": str(ln.quantity),
                "accepted": text_or_none(ln.accepted),
                "rejected": text_or_none(ln.rejected),
            }
            for delivery_id, (d, _) in zip(ids, deliveries, strict=True)
            for ln in d.lines
        ],
    )
    return ids


def record_acceptance(conn: Connection, delivery_id: int, lines: Sequence[DeliveryLine]) -> None:
    dl = t.delivery_lines
    for ln in lines:
        conn.execute(
            dl.update()
            .where(dl.c.delivery_id == delivery_id, dl.c.order_line_no == ln.order_line_no)
            .values(accepted=text_or_none(ln.accepted), rejected=text_or_none(ln.rejected))
        )
    conn.execute(
        t.deliveries.update()
        .where(t.deliveries.c.id == delivery_id)
        .values(status=DeliveryStatus.ACCEPTED.value)
    )


def accepted_quantities(
    conn: Connection, order_ids: Iterable[int]
) -> dict[int, dict[int, Decimal]]:
    """Per order and order line, the quantity accepted on its deliveries."""
    out: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    if driver_sql.is_pg(
        conn
    ):  # probe the indexes from the ids, whatever the (stale) statistics say
        rows = conn.exec_driver_sql(
            "SELECT d.order_id, dl.order_line_no, dl.accepted "
            "FROM unnest(%s::bigint[]) AS k(order_id) "
            "JOIN deliveries d ON d.order_id = k.order_id "
            "JOIN delivery_lines dl ON dl.delivery_id = d.id WHERE dl.accepted IS NOT NULL",
            (sorted(set(order_ids)),),
        )
        for order_id, line_no, accepted in rows:
            out[order_id][line_no] += Decimal(accepted)
        return out
    for chunk in chunks(sorted(set(order_ids))):
        found = driver_sql.rows(
            conn,
            "SELECT d.order_id, dl.order_line_no, dl.accepted FROM deliveries d "
            "JOIN delivery_lines dl ON dl.delivery_id = d.id "
            f"WHERE d.order_id IN ({driver_sql.marks(len(chunk))}) AND dl.accepted IS NOT NULL",
            list(chunk),
        )
        for order_id, line_no, accepted in found:
            out[order_id][line_no] += Decimal(accepted)
    return out
