"""Use cases of the digitized trade: orders, deliveries, invoices, the match, payables.

Bulk and single documents go the same way (a single document is a batch of one); every
state change writes an audit row in the same database transaction."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters import trade_repository as repo
from capillary.adapters.clock import Clock, SystemClock
from capillary.adapters.database import Database
from capillary.domain.errors import (
    CapillaryError,
    DeliveryAlreadyAccepted,
    DeliveryNotFound,
    DocumentExists,
    DuplicateInvoice,
    InvoiceNotFound,
    OrderCancelled,
    OrderNotFound,
    OrganizationNotFound,
    PayableNotFound,
    ValidationError,
)
from capillary.domain.matching import MatchException, MatchResult, three_way_match
from capillary.domain.parties import Organization, Role, require_role, require_trade
from capillary.domain.payables import Payable, check_confirmation, reduce_open
from capillary.domain.trade import (
    Delivery,
    DeliveryStatus,
    Invoice,
    InvoiceStatus,
    OrderLine,
    OrderStatus,
    PurchaseOrder,
    accept_lines,
    check_delivery,
    check_invoice,
    check_order,
)
from capillary.domain.units import currency
from capillary.services.outcomes import Fate, Outcome, audit_row


def order_key(buyer: str, number: str) -> str:
    return f"{buyer}/{number}"


def invoice_key(seller: str, code: str | None, number: str) -> str:
    return f"{seller}/{code}-{number}" if code else f"{seller}/{number}"


def _snapshot(order: PurchaseOrder) -> str:
    data = asdict(order)
    data.pop("id")
    return json.dumps(data, default=str, sort_keys=True)


def _same_document(stored: Any, incoming: Any) -> bool:
    """Whether ``incoming`` is ``stored`` again, ignoring what the store assigns (id, status,
    version): a re-import of the same document, not a different one under its number."""
    return bool(replace(stored, id=0) == replace(incoming, id=0, status=stored.status))


def _receipt(delivery: Delivery) -> str:
    return "received" if delivery.status is DeliveryStatus.RECEIVED else "received_accepted"


class TradeService:
    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    # ------------------------------------------------------------ parties, checked

    @staticmethod
    def _parties(
        conn: Connection, buyer: str, supplier: str, orgs: Mapping[str, Organization],
        relations: Mapping[tuple[str, str], Any],
    ) -> None:  # fmt: skip
        for code in (buyer, supplier):
            if code not in orgs:
                raise OrganizationNotFound(f"No organization {code!r}.")
        require_role(orgs[supplier], Role.SUPPLIER, doing="sell to a buyer")
        require_trade(relations.get((buyer, supplier)), buyer, supplier)

    # ------------------------------------------------------------ orders

    def create_order(self, order: PurchaseOrder, *, actor: str) -> PurchaseOrder:
        (outcome,) = self.create_orders([order], actor=actor)
        if outcome.error is not None:
            raise outcome.error
        return self.order(order.buyer, order.number)

    def create_orders(self, orders: Sequence[PurchaseOrder], *, actor: str) -> list[Outcome]:
        def work(conn: Connection) -> list[Outcome]:
            now = self.clock.now_us()
            orgs = repo.orgs_by_code(conn, {c for o in orders for c in (o.buyer, o.supplier)})
            relations = repo.relationships(conn, {(o.buyer, o.supplier) for o in orders})
            existing = repo.orders_by_number(conn, [(o.buyer, o.number) for o in orders])
            outcomes: list[Outcome] = []
            fresh: list[PurchaseOrder] = []
            for i, order in enumerate(orders):
                key = order_key(order.buyer, order.number)
                try:
                    check_order(order)
                    currency(order.currency)
                    self._parties(conn, order.buyer, order.supplier, orgs, relations)
                    known = existing.get((order.buyer, order.number))
                    if known is not None:
                        if _same_document(known, replace(order, version=known.version)):
                            outcomes.append(Outcome(i, key, Fate.UNCHANGED))
                            continue
                        raise DocumentExists(
                            f"Order {key} exists with other contents; amend it instead."
                        )
                except CapillaryError as exc:
                    outcomes.append(Outcome(i, key, Fate.REFUSED, exc))
                    continue
                existing[(order.buyer, order.number)] = order
                fresh.append(order)
                outcomes.append(Outcome(i, key, Fate.CREATED))
            ids = repo.insert_orders(conn, fresh, now)
            repo.insert_order_versions(
                conn,
                [
                    {"order_id": oid, "version": 1, "snapshot": _snapshot(o), "reason": None,
                     "actor": actor, "at": now}
                    for oid, o in zip(ids, fresh, strict=True)
                ],
            )  # fmt: skip
            repo.insert_audit(
                conn,
                [
                    audit_row("order", order_key(o.buyer, o.number), "created", actor, now)
                    for o in fresh
                ],
            )
            return outcomes

        return self.db.transaction(work)

    def order(self, buyer: str, number: str) -> PurchaseOrder:
        found = self.db.transaction(
            lambda c: repo.orders_by_number(c, [(buyer, number)]), readonly=True
        )
        if (buyer, number) not in found:
            raise OrderNotFound(f"{buyer} has no order {number!r}.")
        return found[(buyer, number)]

    def orders(self, *, org: str | None = None, limit: int = 100) -> list[PurchaseOrder]:
        return self.db.transaction(lambda c: repo.list_orders(c, org, limit), readonly=True)

    def order_history(self, buyer: str, number: str) -> list[dict[str, Any]]:
        order = self.order(buyer, number)
        return self.db.transaction(lambda c: repo.order_versions(c, order.id), readonly=True)

    def _change_order(
        self, buyer: str, number: str, change: Any, *, action: str, reason: str | None, actor: str
    ) -> PurchaseOrder:
        def work(conn: Connection) -> None:
            now = self.clock.now_us()
            current = repo.orders_by_number(conn, [(buyer, number)]).get((buyer, number))
            if current is None:
                raise OrderNotFound(f"{buyer} has no order {number!r}.")
            if current.status is OrderStatus.CANCELLED:
                raise OrderCancelled(f"Order {order_key(buyer, number)} is cancelled.")
            changed = check_order(replace(change(current), version=current.version + 1))
            repo.replace_order(conn, changed)
            repo.insert_order_versions(
                conn,
                [{"order_id": current.id, "version": changed.version,
                  "snapshot": _snapshot(changed), "reason": reason, "actor": actor, "at": now}],
            )  # fmt: skip
            repo.insert_audit(
                conn,
                [audit_row("order", order_key(buyer, number), action, actor, now,
                           {"version": changed.version, "reason": reason})],
            )  # fmt: skip

        self.db.transaction(work)
        return self.order(buyer, number)

    def amend_order(
        self,
        buyer: str,
        number: str,
        *,
        lines: Sequence[OrderLine] | None = None,
        expected_date: date | None = None,
        reason: str,
        actor: str,
    ) -> PurchaseOrder:
        """A new version of the order; every earlier one is kept."""
        if not (reason or "").strip():
            raise ValidationError("Say why the order is amended.")

        def change(order: PurchaseOrder) -> PurchaseOrder:
            return replace(
                order,
                lines=tuple(lines) if lines is not None else order.lines,
                expected_date=expected_date if expected_date is not None else order.expected_date,
            )

        return self._change_order(
            buyer, number, change, action="amended", reason=reason, actor=actor
        )

    def cancel_order(self, buyer: str, number: str, *, reason: str, actor: str) -> PurchaseOrder:
        if not (reason or "").strip():
            raise ValidationError("Say why the order is cancelled.")
        return self._change_order(
            buyer,
            number,
            lambda o: replace(o, status=OrderStatus.CANCELLED),
            action="cancelled",
            reason=reason,
            actor=actor,
        )

    # ------------------------------------------------------------ deliveries

    def record_delivery(self, delivery: Delivery, *, actor: str) -> Delivery:
        (outcome,) = self.record_deliveries([delivery], actor=actor)
        if outcome.error is not None:
            raise outcome.error
        return self.delivery(delivery.supplier, delivery.number)

    def record_deliveries(self, deliveries: Sequence[Delivery], *, actor: str) -> list[Outcome]:
        """Goods receipts against order lines. A receipt that comes with accepted and
        rejected quantities is recorded as accepted."""

        def work(conn: Connection) -> list[Outcome]:
            now = self.clock.now_us()
            orders = repo.orders_by_number(conn, [(d.buyer, d.order_number) for d in deliveries])
            existing = repo.deliveries_by_number(conn, [(d.supplier, d.number) for d in deliveries])
            outcomes: list[Outcome] = []
            fresh: list[tuple[Delivery, int]] = []
            for i, d in enumerate(deliveries):
                key = f"{d.supplier}/{d.number}"
                try:
                    order = orders.get((d.buyer, d.order_number))
                    if order is None or order.supplier != d.supplier:
                        raise OrderNotFound(
                            f"{d.buyer} has no order {d.order_number!r} from {d.supplier}."
                        )
                    if order.status is OrderStatus.CANCELLED:
                        raise OrderCancelled(f"Order {order.number} is cancelled.")
                    check_delivery(d, order)
                    accepted = all(ln.accepted is not None for ln in d.lines)
                    d = replace(
                        d, status=DeliveryStatus.ACCEPTED if accepted else DeliveryStatus.RECEIVED
                    )
                    known = existing.get((d.supplier, d.number))
                    if known is not None:
                        if _same_document(known, d):
                            outcomes.append(Outcome(i, key, Fate.UNCHANGED))
                            continue
                        raise DocumentExists(f"Delivery {key} exists with other contents.")
                except CapillaryError as exc:
                    outcomes.append(Outcome(i, key, Fate.REFUSED, exc))
                    continue
                existing[(d.supplier, d.number)] = d
                fresh.append((d, order.id))
                outcomes.append(Outcome(i, key, Fate.CREATED))
            repo.insert_deliveries(conn, fresh, now)
            repo.insert_audit(
                conn,
                [
                    audit_row("delivery", f"{d.supplier}/{d.number}", _receipt(d), actor, now)
                    for d, _ in fresh
                ],
            )  # fmt: skip
            return outcomes

        return self.db.transaction(work)

    def delivery(self, supplier: str, number: str) -> Delivery:
        found = self.db.transaction(
            lambda c: repo.deliveries_by_number(c, [(supplier, number)]), readonly=True
        )
        if (supplier, number) not in found:
            raise DeliveryNotFound(f"{supplier} has no delivery {number!r}.")
        return found[(supplier, number)]

    def accept_delivery(
        self,
        supplier: str,
        number: str,
        *,
        accepted: Mapping[int, Decimal] | None = None,
        actor: str,
    ) -> Delivery:
        """The buyer accepts, line by line, what it takes (all of it where a line is not
        named); the rest is rejected."""

        def work(conn: Connection) -> None:
            found = repo.deliveries_by_number(conn, [(supplier, number)])
            delivery = found.get((supplier, number))
            if delivery is None:
                raise DeliveryNotFound(f"{supplier} has no delivery {number!r}.")
            if delivery.status is DeliveryStatus.ACCEPTED:
                raise DeliveryAlreadyAccepted(f"Delivery {supplier}/{number} was already accepted.")
            lines = accept_lines(delivery, dict(accepted or {}))
            repo.record_acceptance(conn, delivery.id, lines)
            repo.insert_audit(
                conn,
                [audit_row("delivery", f"{supplier}/{number}", "accepted", actor,
                           self.clock.now_us(),
                           {str(ln.order_line_no): [str(ln.accepted), str(ln.rejected)]
                            for ln in lines})],
            )  # fmt: skip

        self.db.transaction(work)
        return self.delivery(supplier, number)

    # ------------------------------------------------------------ invoices

    def receive_invoice(self, invoice: Invoice, *, actor: str) -> Invoice:
        (outcome,) = self.receive_invoices([invoice], actor=actor)
        if outcome.error is not None:
            raise outcome.error
        return self.invoice(invoice.seller, invoice.code, invoice.number)

    def receive_invoices(self, invoices: Sequence[Invoice], *, actor: str) -> list[Outcome]:
        """Record invoices (a seller's number only once) and match each at once."""

        def work(conn: Connection) -> list[Outcome]:
            now = self.clock.now_us()
            orgs = repo.orgs_by_code(conn, {c for v in invoices for c in (v.buyer, v.seller)})
            relations = repo.relationships(conn, {(v.buyer, v.seller) for v in invoices})
            orders = repo.orders_by_number(conn, [(v.buyer, v.order_number) for v in invoices])
            existing = repo.invoices_by_number(
                conn, [(v.seller, v.code or "", v.number) for v in invoices]
            )
            outcomes: list[Outcome] = []
            fresh: list[tuple[Invoice, int | None]] = []
            for i, v in enumerate(invoices):
                key = invoice_key(v.seller, v.code, v.number)
                try:
                    check_invoice(v, currency(v.currency).exponent)
                    self._parties(conn, v.buyer, v.seller, orgs, relations)
                    known = existing.get((v.seller, v.code or "", v.number))
                    if known is not None:
                        if _same_document(known, v):
                            outcomes.append(Outcome(i, key, Fate.UNCHANGED))
                            continue
                        raise DuplicateInvoice(
                            f"{v.seller} already issued invoice {v.label} with other contents."
                        )
                except CapillaryError as exc:
                    outcomes.append(Outcome(i, key, Fate.REFUSED, exc))
                    continue
                if v.status is not InvoiceStatus.RECEIVED:
                    v = replace(v, status=InvoiceStatus.RECEIVED)
                existing[(v.seller, v.code or "", v.number)] = v
                order = orders.get((v.buyer, v.order_number))
                fresh.append(
                    (v, order.id if order is not None and order.supplier == v.seller else None)
                )
                outcomes.append(Outcome(i, key, Fate.CREATED))
            ids = repo.insert_invoices(conn, fresh, now)
            repo.insert_audit(
                conn,
                [
                    audit_row("invoice", invoice_key(v.seller, v.code, v.number), "received",
                              actor, now)
                    for v, _ in fresh
                ],
            )  # fmt: skip
            stored = [replace(v, id=i) for i, (v, _) in zip(ids, fresh, strict=True)]
            self._match(conn, stored, orders, actor=actor, now=now)
            return outcomes

        return self.db.transaction(work)

    def _match(
        self,
        conn: Connection,
        invoices: Sequence[Invoice],
        orders: Mapping[tuple[str, str], PurchaseOrder],
        *,
        actor: str,
        now: int,
    ) -> dict[int, MatchResult]:
        """Match invoices (with their ids) in id order against ``orders`` (by buyer and
        number); each one that matches counts as billed for the next."""
        pending = sorted(
            (v for v in invoices if v.status is not InvoiceStatus.CONFIRMED), key=lambda v: v.id
        )
        if not pending:
            return {}
        order_ids = [o.id for o in orders.values()]
        accepted = repo.accepted_quantities(conn, order_ids)
        billed = repo.billed_quantities(conn, order_ids, excluding=[v.id for v in pending])
        buyers = repo.orgs_by_code(conn, {v.buyer for v in pending})
        results: dict[int, MatchResult] = {}
        writes: list[tuple[int, InvoiceStatus, Sequence[MatchException]]] = []
        audit = []
        for v in pending:
            order = orders.get((v.buyer, v.order_number))
            order_billed = billed[order.id] if order is not None else defaultdict(Decimal)
            result = three_way_match(
                v,
                order,
                accepted=accepted[order.id] if order is not None else {},
                billed=order_billed,
                tolerance=buyers[v.buyer].tolerance,
                exponent=currency(v.currency).exponent,
            )
            results[v.id] = result
            status = InvoiceStatus.MATCHED if result.matched else InvoiceStatus.EXCEPTIONS
            if result.matched and order is not None:
                for line in v.lines:
                    order_billed[line.order_line_no] += line.quantity
            writes.append((v.id, status, result.exceptions))
            audit.append(
                audit_row("invoice", invoice_key(v.seller, v.code, v.number), status.value,
                          actor, now, result.codes or None)
            )  # fmt: skip
        repo.record_matches(conn, writes)
        repo.insert_audit(conn, audit)
        return results

    def match(
        self, *, buyer: str | None = None, invoice_ids: Sequence[int] | None = None, actor: str
    ) -> dict[int, MatchResult]:
        """Match again the invoices not yet confirmed (of ``buyer``, or those named): after
        deliveries are accepted, say."""

        def work(conn: Connection) -> dict[int, MatchResult]:
            ids = list(invoice_ids or [])
            if buyer is not None:
                ids += [
                    v.id
                    for status in (InvoiceStatus.RECEIVED, InvoiceStatus.EXCEPTIONS)
                    for v in repo.list_invoices(conn, buyer, status, 1_000_000)
                    if v.buyer == buyer
                ]
            invoices = list(repo.invoices_by_id(conn, ids).values())
            orders = repo.orders_by_number(conn, [(v.buyer, v.order_number) for v in invoices])
            return self._match(conn, invoices, orders, actor=actor, now=self.clock.now_us())

        return self.db.transaction(work)

    def invoice(self, seller: str, code: str | None, number: str) -> Invoice:
        found = self.db.transaction(
            lambda c: repo.invoices_by_number(c, [(seller, code or "", number)]), readonly=True
        )
        key = (seller, code or "", number)
        if key not in found:
            raise InvoiceNotFound(
                f"{seller} issued no invoice {invoice_key(seller, code, number)}."
            )
        return found[key]

    def invoice_exceptions(self, invoice_id: int) -> list[dict[str, Any]]:
        return self.db.transaction(lambda c: repo.invoice_exceptions(c, invoice_id), readonly=True)

    def invoices(
        self, *, org: str | None = None, status: InvoiceStatus | None = None, limit: int = 100
    ) -> list[Invoice]:
        return self.db.transaction(
            lambda c: repo.list_invoices(c, org, status, limit), readonly=True
        )

    # ------------------------------------------------------------ payables

    def confirm_invoice(
        self,
        seller: str,
        code: str | None,
        number: str,
        *,
        due_date: date,
        override_reason: str | None = None,
        actor: str,
    ) -> Payable:
        """The buyer confirms it owes the invoice's total: a payable, due on ``due_date``.
        An invoice with match exceptions needs ``override_reason``, which is recorded."""

        def work(conn: Connection) -> int:
            now = self.clock.now_us()
            key = (seller, code or "", number)
            invoice = repo.invoices_by_number(conn, [key]).get(key)
            if invoice is None:
                raise InvoiceNotFound(
                    f"{seller} issued no invoice {invoice_key(seller, code, number)}."
                )
            reason = check_confirmation(invoice, due_date=due_date, override_reason=override_reason)
            payable_id = repo.insert_payable(
                conn, invoice=invoice, due_date=due_date, override_reason=reason, now=now
            )
            repo.set_invoice_status(conn, invoice.id, InvoiceStatus.CONFIRMED)
            label = invoice_key(seller, code, number)
            detail = {"payable": payable_id, "due_date": due_date.isoformat(), "override": reason}
            repo.insert_audit(
                conn,
                [
                    audit_row("invoice", label, "confirmed", actor, now, detail),
                    audit_row("payable", str(payable_id), "created", actor, now,
                              {"invoice": label, "amount": invoice.total}),
                ],
            )  # fmt: skip
            return payable_id

        return self.payable(self.db.transaction(work))

    def payable(self, payable_id: int) -> Payable:
        found = self.db.transaction(lambda c: repo.payable(c, payable_id), readonly=True)
        if found is None:
            raise PayableNotFound(f"No payable {payable_id}.")
        return found

    def payables(self, *, org: str | None = None, limit: int = 100) -> list[Payable]:
        return self.db.transaction(lambda c: repo.list_payables(c, org, limit), readonly=True)

    def reduce_payable(self, payable_id: int, amount: int, *, why: str, actor: str) -> Payable:
        """Take ``amount`` off a payable's open amount (a certificate issued against it, or a
        payment); never below zero."""

        def work(conn: Connection) -> None:
            current = repo.payable(conn, payable_id)
            if current is None:
                raise PayableNotFound(f"No payable {payable_id}.")
            remaining = reduce_open(current, amount)
            repo.set_open_amount(conn, payable_id, remaining)
            repo.insert_audit(
                conn,
                [audit_row("payable", str(payable_id), "reduced", actor, self.clock.now_us(),
                           {"amount": amount, "open": remaining, "why": why})],
            )  # fmt: skip

        self.db.transaction(work)
        return self.payable(payable_id)

    # ------------------------------------------------------------ audit

    def audit(self, entity: str, key: str) -> list[dict[str, Any]]:
        """Every recorded change of one document: what, who, when."""
        return self.db.transaction(lambda c: repo.audit_for(c, entity, key), readonly=True)
