"""Every query of the trade: organizations, relationships, orders, deliveries, invoices,
payables and the audit log. Functions take an open connection and work on lists, so a bulk
import and a single document go the same way."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from capillary.adapters import driver_sql
from capillary.adapters import trade_tables as t
from capillary.domain.matching import MatchException
from capillary.domain.parties import (
    Organization,
    RelationshipStatus,
    Tolerance,
    TradeRelationship,
    parse_roles,
)
from capillary.domain.payables import Payable, PayableStatus
from capillary.domain.trade import (
    Delivery,
    DeliveryLine,
    DeliveryStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    OrderLine,
    OrderStatus,
    PurchaseOrder,
)

_CHUNK = 2000


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _by_keys(
    conn: Connection, table: sa.Table, columns: Sequence[str], keys: Iterable[tuple[str, ...]]
) -> list[Any]:
    """Rows of ``table`` whose ``columns`` equal one of ``keys`` (text business keys). On
    PostgreSQL a join against unnest(arrays), which probes the unique index whatever plan is
    cached; on SQLite row-value IN, in chunks."""
    keys = sorted(set(keys))
    if not keys:
        return []
    if _pg(conn):
        arrays = ", ".join("%s::text[]" for _ in columns)
        on = " AND ".join(f"t.{c} = k.{c}" for c in columns)
        sql = (
            f"SELECT t.* FROM {table.name} t JOIN unnest({arrays}) AS k({', '.join(columns)}) "
            f"ON {on}"
        )
        return list(conn.exec_driver_sql(sql, tuple(list(c) for c in zip(*keys, strict=True))))
    rows: list[Any] = []
    cols = [table.c[c] for c in columns]
    for chunk in _chunks(keys):
        rows += conn.execute(sa.select(table).where(sa.tuple_(*cols).in_(chunk)))
    return rows


def _bulk_insert(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
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
    if not _pg(conn):
        conn.execute(table.insert(), list(rows))
        return
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _insert_with_ids(
    conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert rows and return their new ids, in order: taken in one round trip, then the
    rows in bulk (PostgreSQL: from the table's sequence, then COPY)."""
    if not rows:
        return []
    if _pg(conn):
        ids = [
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT nextval('{table.name}_id_seq') FROM generate_series(1, %s)", (len(rows),)
            )
        ]
        _bulk_insert(conn, table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
        return ids
    # SQLite: the write lock (BEGIN IMMEDIATE) is ours, so the next ids are known.
    (last,) = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).one()
    ids = list(range(last + 1, last + 1 + len(rows)))
    _bulk_insert(conn, table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids


def _d(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------- organizations


def _org(r: Any) -> Organization:
    return Organization(
        code=r.code,
        name=r.name,
        scheme=r.id_scheme,
        identifier=r.id_value,
        roles=parse_roles(r.roles),
        tolerance=Tolerance(Decimal(r.tolerance_percent), r.tolerance_absolute),
        created_at=r.created_at,
    )


def insert_orgs(conn: Connection, orgs: Sequence[Organization]) -> None:
    if orgs:
        conn.execute(
            t.organizations.insert(),
            [
                {
                    "code": o.code,
                    "name": o.name,
                    "id_scheme": o.scheme,
                    "id_value": o.identifier,
                    "roles": "|".join(sorted(r.value for r in o.roles)),
                    "tolerance_percent": str(o.tolerance.percent),
                    "tolerance_absolute": o.tolerance.absolute,
                    "created_at": o.created_at,
                }
                for o in orgs
            ],
        )


_ORG_COLUMNS = (
    "code, name, id_scheme, id_value, roles, tolerance_percent, tolerance_absolute, created_at"
)


def orgs_query(codes: Sequence[str]) -> tuple[str, Sequence[str]]:
    """The organizations of up to a chunk of ``codes``."""
    where = f"code IN ({driver_sql.marks(len(codes))})"
    return f"SELECT {_ORG_COLUMNS} FROM organizations WHERE {where}", list(codes)


def read_orgs(
    rows: Iterable[Sequence[Any]], found: dict[str, Organization] | None = None
) -> dict[str, Organization]:
    found = {} if found is None else found
    for r in rows:
        found[r[0]] = Organization(
            code=r[0], name=r[1], scheme=r[2], identifier=r[3], roles=parse_roles(r[4]),
            tolerance=Tolerance(Decimal(r[5]), r[6]), created_at=r[7],
        )  # fmt: skip
    return found


def orgs_by_code(conn: Connection, codes: Iterable[str]) -> dict[str, Organization]:
    found: dict[str, Organization] = {}
    for chunk in _chunks(sorted(set(codes))):
        read_orgs(driver_sql.rows(conn, *orgs_query(chunk)), found)
    return found


def orgs_by_identifier(
    conn: Connection, identifiers: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Organization]:
    rows = _by_keys(conn, t.organizations, ("id_scheme", "id_value"), identifiers)
    return {(r.id_scheme, r.id_value): _org(r) for r in rows}


def list_orgs(
    conn: Connection, *, after: str = "", limit: int | None = None, role: str | None = None
) -> list[Organization]:
    """Organizations in code order: after code ``after``, with ``role``, ``limit`` of them."""
    o = t.organizations
    q = sa.select(o).where(o.c.code > after).order_by(o.c.code)
    if role is not None:  # roles are stored "core|supplier", sorted
        q = q.where(("|" + o.c.roles + "|").contains(f"|{role}|"))
    if limit is not None:
        q = q.limit(limit)
    return [_org(r) for r in conn.execute(q)]


def set_tolerance(conn: Connection, code: str, tolerance: Tolerance) -> None:
    conn.execute(
        t.organizations.update()
        .where(t.organizations.c.code == code)
        .values(tolerance_percent=str(tolerance.percent), tolerance_absolute=tolerance.absolute)
    )


# ---------------------------------------------------------------- relationships


#: Up to this many (buyer, supplier) pairs are read as one keyed statement.
FEW_PAIRS = 8


def relationships_query(pairs: Sequence[tuple[str, str]]) -> tuple[str, Sequence[str]]:
    """A use case's few pairs: one keyed read per pair, in one statement."""
    where = " OR ".join(["(buyer = ? AND supplier = ?)"] * len(pairs)) or "1 = 0"
    return (f"SELECT buyer, supplier, status FROM trade_relationships WHERE {where}",
            [v for pair in pairs for v in pair])  # fmt: skip


def read_relationships(
    rows: Iterable[Sequence[Any]],
) -> dict[tuple[str, str], TradeRelationship]:
    return {(b, s): TradeRelationship(b, s, RelationshipStatus(st)) for b, s, st in rows}


def relationships(
    conn: Connection, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], TradeRelationship]:
    wanted = sorted(set(pairs))
    if len(wanted) <= FEW_PAIRS:
        return read_relationships(driver_sql.rows(conn, *relationships_query(wanted)))
    rows = _by_keys(conn, t.trade_relationships, ("buyer", "supplier"), wanted)
    return {
        (r.buyer, r.supplier): TradeRelationship(r.buyer, r.supplier, RelationshipStatus(r.status))
        for r in rows
    }


def insert_relationships(conn: Connection, rels: Sequence[TradeRelationship], now: int) -> None:
    if rels:
        conn.execute(
            t.trade_relationships.insert(),
            [
                {
                    "buyer": r.buyer,
                    "supplier": r.supplier,
                    "status": r.status.value,
                    "created_at": now,
                }
                for r in rels
            ],
        )


def set_relationship_status(
    conn: Connection, buyer: str, supplier: str, status: RelationshipStatus
) -> None:
    r_ = t.trade_relationships
    conn.execute(
        r_.update()
        .where(r_.c.buyer == buyer, r_.c.supplier == supplier)
        .values(status=status.value)
    )


def list_relationships(
    conn: Connection, org: str | None, *, after: tuple[str, str] | None = None,
    limit: int | None = None,
) -> list[TradeRelationship]:  # fmt: skip
    """Relationships in (buyer, supplier) order: of ``org``, after the pair ``after``."""
    r_ = t.trade_relationships
    q = sa.select(r_).order_by(r_.c.buyer, r_.c.supplier)
    if org is not None:
        q = q.where(sa.or_(r_.c.buyer == org, r_.c.supplier == org))
    if after is not None:
        q = q.where(sa.tuple_(r_.c.buyer, r_.c.supplier) > sa.tuple_(*after))
    if limit is not None:
        q = q.limit(limit)
    return [
        TradeRelationship(r.buyer, r.supplier, RelationshipStatus(r.status))
        for r in conn.execute(q)
    ]


# ---------------------------------------------------------------- orders


def _order_lines(conn: Connection, order_ids: Sequence[int]) -> dict[int, list[OrderLine]]:
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    ol = t.order_lines
    for chunk in _chunks(order_ids):
        rows = conn.execute(
            sa.select(ol).where(ol.c.order_id.in_(chunk)).order_by(ol.c.order_id, ol.c.line_no)
        )
        for r in rows:
            lines[r.order_id].append(
                OrderLine(
                    r.line_no,
                    r.item,
                    r.description,
                    Decimal(r.quantity),
                    r.uom,
                    Decimal(r.unit_price),
                    Decimal(r.tax_rate),
                )
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
    rows = _by_keys(conn, t.purchase_orders, ("buyer", "number"), keys)
    return {(o.buyer, o.number): o for o in _orders(conn, rows)}


def orders_by_id(conn: Connection, ids: Iterable[int]) -> dict[int, PurchaseOrder]:
    po = t.purchase_orders
    rows: list[Any] = []
    for chunk in _chunks(sorted(set(ids))):
        rows += conn.execute(sa.select(po).where(po.c.id.in_(chunk)))
    return {o.id: o for o in _orders(conn, rows)}


def _dated(q: Any, column: Any, since: date | None, until: date | None) -> Any:
    """``q`` limited to rows whose ``column`` falls within the dates given (inclusive)."""
    if since is not None:
        q = q.where(column >= since)
    if until is not None:
        q = q.where(column <= until)
    return q


def list_orders(
    conn: Connection, org: str | None, limit: int, before: int | None = None, *,
    since: date | None = None, until: date | None = None,
) -> list[PurchaseOrder]:  # fmt: skip
    po = t.purchase_orders
    q = _dated(sa.select(po).order_by(po.c.id.desc()).limit(limit), po.c.order_date, since,
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
    ids = _insert_with_ids(
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
    conn.execute(t.order_lines.insert(), rows)
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
    _bulk_insert(conn, t.order_versions, rows)


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
    for chunk in _chunks([r.id for r in rows]):
        for ln in conn.execute(
            sa.select(dl).where(dl.c.delivery_id.in_(chunk)).order_by(dl.c.order_line_no)
        ):
            lines[ln.delivery_id].append(
                DeliveryLine(
                    ln.order_line_no, Decimal(ln.quantity), _d(ln.accepted), _d(ln.rejected)
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
    rows = _by_keys(conn, t.deliveries, ("supplier", "number"), keys)
    return {(x.supplier, x.number): x for x in _deliveries(conn, rows)}


def list_deliveries(
    conn: Connection, org: str | None, limit: int, before: int | None = None, *,
    since: date | None = None, until: date | None = None,
) -> list[Delivery]:  # fmt: skip
    d = t.deliveries
    q = _dated(sa.select(d).order_by(d.c.id.desc()).limit(limit), d.c.delivered_on, since,
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
    ids = _insert_with_ids(
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
    _bulk_insert(
        conn,
        t.delivery_lines,
        [
            {
                "delivery_id": delivery_id,
                "order_line_no": ln.order_line_no,
                "quantity": str(ln.quantity),
                "accepted": _text(ln.accepted),
                "rejected": _text(ln.rejected),
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
            .values(accepted=_text(ln.accepted), rejected=_text(ln.rejected))
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
    d, dl = t.deliveries, t.delivery_lines
    out: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    if _pg(conn):  # probe the indexes from the ids, whatever the (stale) statistics say
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
    for chunk in _chunks(sorted(set(order_ids))):
        rows = conn.execute(
            sa.select(d.c.order_id, dl.c.order_line_no, dl.c.accepted)
            .join(dl, dl.c.delivery_id == d.c.id)
            .where(d.c.order_id.in_(chunk), dl.c.accepted.is_not(None))
        )
        for order_id, line_no, accepted in rows:
            out[order_id][line_no] += Decimal(accepted)
    return out


# ---------------------------------------------------------------- invoices


def _invoices(conn: Connection, rows: Sequence[Any]) -> list[Invoice]:
    il = t.invoice_lines
    lines: dict[int, list[InvoiceLine]] = defaultdict(list)
    for chunk in _chunks([r.id for r in rows]):
        for ln in conn.execute(
            sa.select(il).where(il.c.invoice_id.in_(chunk)).order_by(il.c.line_no)
        ):
            lines[ln.invoice_id].append(
                InvoiceLine(
                    ln.line_no,
                    ln.order_line_no,
                    Decimal(ln.quantity),
                    Decimal(ln.unit_price),
                    ln.amount,
                    Decimal(ln.tax_rate),
                    ln.tax,
                )
            )
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
    rows = _by_keys(conn, t.invoices, ("seller", "code", "number"), keys)
    return {(x.seller, x.code or "", x.number): x for x in _invoices(conn, rows)}


def invoices_by_id(conn: Connection, ids: Iterable[int]) -> dict[int, Invoice]:
    i = t.invoices
    rows: list[Any] = []
    for chunk in _chunks(sorted(set(ids))):
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
    q = _dated(sa.select(i).order_by(i.c.id.desc()).limit(limit), i.c.issue_date, since,
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
    ids = _insert_with_ids(
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
    _bulk_insert(
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
    i, il = t.invoices, t.invoice_lines
    skip = set(excluding)
    out: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    if _pg(conn):  # probe the indexes from the ids, whatever the (stale) statistics say
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
    for chunk in _chunks(sorted(set(order_ids))):
        rows = conn.execute(
            sa.select(i.c.id, i.c.order_id, il.c.order_line_no, il.c.quantity)
            .join(il, il.c.invoice_id == i.c.id)
            .where(i.c.order_id.in_(chunk), i.c.status.in_(["matched", "confirmed"]))
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
    if _pg(conn):
        conn.exec_driver_sql(
            "UPDATE invoices AS i SET status = d.status, exceptions = d.exceptions "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS d(id, status, exceptions) "
            "WHERE i.id = d.id",
            tuple(list(c) for c in zip(*rows, strict=True)),
        )
        return
    conn.execute(
        t.invoices.update()
        .where(t.invoices.c.id == sa.bindparam("invoice_id"))
        .values(status=sa.bindparam("new_status"), exceptions=sa.bindparam("found")),
        [{"invoice_id": i, "new_status": st, "found": f} for i, st, f in rows],
    )


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
    if lock and _pg(conn):
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
    _bulk_insert(conn, t.audit_log, rows)


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
