"""Use cases of the digitized trade: orders, deliveries, invoices, the match, payables.

Bulk and single documents go the same way (a single document is a batch of one); every
state change writes an audit row in the same database transaction."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from capillary.adapters import trade_repository as repo
from capillary.adapters.clock import Clock, SystemClock
from capillary.adapters.database import Database
from capillary.domain.access import Act, Principal, authorize, may_see
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
from capillary.domain.payables import Payable, PayableStatus, check_confirmation, reduce_open
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
from capillary.services.idempotency import once, once_outcomes
from capillary.services.outcomes import (
    Fate,
    Outcome,
    audit_row,
)

T = TypeVar("T")


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

    def _batch(
        self,
        conn: Connection,
        principal: Principal,
        key: str,
        act: Act,
        request: Any,
        run: Callable[[], list[Outcome]],
        atomic: bool = False,
    ) -> list[Outcome]:
        """A bulk use case under an idempotency key: its outcomes, or the recorded ones. A
        batch of one that is refused raises inside the unit of work: nothing is written."""
        return once_outcomes(
            conn, principal=principal, key=key, use_case=act.value, request=request, run=run,
            atomic=atomic, now=self.clock.now_us(),
        )  # fmt: skip

    def _single(
        self, conn: Connection, principal: Principal, key: str, act: Act, request: Any,
        run: Callable[[], T], result: Any,
    ) -> T:  # fmt: skip
        return once(
            conn, principal=principal, key=key, use_case=act.value, request=request,
            result=result, run=run, now=self.clock.now_us(),
        )  # fmt: skip

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

    def create_order(
        self, order: PurchaseOrder, *, principal: Principal, key: str
    ) -> PurchaseOrder:
        (outcome,) = self.create_orders([order], principal=principal, key=key, atomic=True)
        if outcome.error is not None:
            raise outcome.error
        return self.order(order.buyer, order.number, principal=principal)

    def create_orders(
        self,
        orders: Sequence[PurchaseOrder],
        *,
        principal: Principal,
        key: str,
        atomic: bool = False,
    ) -> list[Outcome]:
        """The buyer's purchase orders; one of another buyer is refused (``forbidden``)."""
        actor = principal.label

        def work(conn: Connection) -> list[Outcome]:
            return self._batch(conn, principal, key, Act.CREATE_ORDER,
                               tuple(orders), lambda: run(conn),
                               atomic=atomic)  # fmt: skip

        def run(conn: Connection) -> list[Outcome]:
            now = self.clock.now_us()
            orgs = repo.orgs_by_code(conn, {c for o in orders for c in (o.buyer, o.supplier)})
            relations = repo.relationships(conn, {(o.buyer, o.supplier) for o in orders})
            existing = repo.orders_by_number(conn, [(o.buyer, o.number) for o in orders])
            outcomes: list[Outcome] = []
            fresh: list[PurchaseOrder] = []
            for i, order in enumerate(orders):
                key = order_key(order.buyer, order.number)
                try:
                    authorize(principal, Act.CREATE_ORDER, order.buyer)
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

    def order(self, buyer: str, number: str, *, principal: Principal) -> PurchaseOrder:
        found = self.db.transaction(
            lambda c: repo.orders_by_number(c, [(buyer, number)]), readonly=True
        ).get((buyer, number))
        if found is None or not may_see(principal, found.buyer, found.supplier):
            raise OrderNotFound(f"{buyer} has no order {number!r}.")
        return found

    def orders(
        self,
        *,
        principal: Principal,
        org: str | None = None,
        limit: int = 100,
        before: int | None = None,
    ) -> list[PurchaseOrder]:
        org = _scope(principal, org)
        if org == _NOTHING:
            return []
        return self.db.transaction(lambda c: repo.list_orders(c, org, limit, before), readonly=True)

    def deliveries(
        self,
        *,
        principal: Principal,
        org: str | None = None,
        limit: int = 100,
        before: int | None = None,
    ) -> list[Delivery]:
        org = _scope(principal, org)
        if org == _NOTHING:
            return []
        return self.db.transaction(
            lambda c: repo.list_deliveries(c, org, limit, before), readonly=True
        )

    def order_history(
        self, buyer: str, number: str, *, principal: Principal
    ) -> list[dict[str, Any]]:
        order = self.order(buyer, number, principal=principal)
        return self.db.transaction(lambda c: repo.order_versions(c, order.id), readonly=True)

    def _change_order(
        self, buyer: str, number: str, change: Any, *, action: str, reason: str | None,
        principal: Principal, key: str, act: Act, request: dict[str, Any],
    ) -> PurchaseOrder:  # fmt: skip
        actor = principal.label

        def work(conn: Connection) -> None:
            current = repo.orders_by_number(conn, [(buyer, number)]).get((buyer, number))
            if current is None or not may_see(principal, current.buyer, current.supplier):
                raise OrderNotFound(f"{buyer} has no order {number!r}.")
            authorize(principal, act, current.buyer)
            self._single(conn, principal, key, act, request,
                         lambda: run(conn, current), None)  # fmt: skip

        def run(conn: Connection, current: PurchaseOrder) -> None:
            now = self.clock.now_us()
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
        return self.order(buyer, number, principal=principal)

    def amend_order(
        self,
        buyer: str,
        number: str,
        *,
        lines: Sequence[OrderLine] | None = None,
        expected_date: date | None = None,
        reason: str,
        principal: Principal,
        key: str,
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

        request = {"buyer": buyer, "number": number, "reason": reason,
                   "lines": [asdict(ln) for ln in lines] if lines is not None else None,
                   "expected_date": expected_date}  # fmt: skip
        return self._change_order(
            buyer, number, change, action="amended", reason=reason, principal=principal,
            key=key, act=Act.AMEND_ORDER, request=request,
        )  # fmt: skip

    def cancel_order(
        self, buyer: str, number: str, *, reason: str, principal: Principal, key: str
    ) -> PurchaseOrder:
        if not (reason or "").strip():
            raise ValidationError("Say why the order is cancelled.")
        return self._change_order(
            buyer,
            number,
            lambda o: replace(o, status=OrderStatus.CANCELLED),
            action="cancelled",
            reason=reason,
            principal=principal,
            key=key,
            act=Act.CANCEL_ORDER,
            request={"buyer": buyer, "number": number, "reason": reason},
        )

    # ------------------------------------------------------------ deliveries

    def record_delivery(self, delivery: Delivery, *, principal: Principal, key: str) -> Delivery:
        (outcome,) = self.record_deliveries([delivery], principal=principal, key=key, atomic=True)
        if outcome.error is not None:
            raise outcome.error
        return self.delivery(delivery.supplier, delivery.number, principal=principal)

    def record_deliveries(
        self,
        deliveries: Sequence[Delivery],
        *,
        principal: Principal,
        key: str,
        atomic: bool = False,
    ) -> list[Outcome]:
        """The supplier's goods receipts against order lines. A receipt that comes with
        accepted and rejected quantities is recorded as accepted."""
        actor = principal.label

        def work(conn: Connection) -> list[Outcome]:
            return self._batch(conn, principal, key, Act.RECORD_DELIVERY,
                               tuple(deliveries), lambda: run(conn),
                               atomic=atomic)  # fmt: skip

        def run(conn: Connection) -> list[Outcome]:
            now = self.clock.now_us()
            orders = repo.orders_by_number(conn, [(d.buyer, d.order_number) for d in deliveries])
            existing = repo.deliveries_by_number(conn, [(d.supplier, d.number) for d in deliveries])
            outcomes: list[Outcome] = []
            fresh: list[tuple[Delivery, int]] = []
            for i, d in enumerate(deliveries):
                key = f"{d.supplier}/{d.number}"
                try:
                    authorize(principal, Act.RECORD_DELIVERY, d.supplier)
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

    def delivery(self, supplier: str, number: str, *, principal: Principal) -> Delivery:
        found = self.db.transaction(
            lambda c: repo.deliveries_by_number(c, [(supplier, number)]), readonly=True
        ).get((supplier, number))
        if found is None or not may_see(principal, found.buyer, found.supplier):
            raise DeliveryNotFound(f"{supplier} has no delivery {number!r}.")
        return found

    def accept_delivery(
        self,
        supplier: str,
        number: str,
        *,
        accepted: Mapping[int, Decimal] | None = None,
        principal: Principal,
        key: str,
    ) -> Delivery:
        """The buyer accepts, line by line, what it takes (all of it where a line is not
        named); the rest is rejected."""
        actor = principal.label
        request = {"supplier": supplier, "number": number,
                   "accepted": {str(k): str(v) for k, v in (accepted or {}).items()}}  # fmt: skip

        def work(conn: Connection) -> None:
            found = repo.deliveries_by_number(conn, [(supplier, number)])
            delivery = found.get((supplier, number))
            if delivery is None or not may_see(principal, delivery.buyer, delivery.supplier):
                raise DeliveryNotFound(f"{supplier} has no delivery {number!r}.")
            authorize(principal, Act.ACCEPT_DELIVERY, delivery.buyer)
            self._single(conn, principal, key, Act.ACCEPT_DELIVERY, request,
                         lambda: run(conn, delivery), None)  # fmt: skip

        def run(conn: Connection, delivery: Delivery) -> None:
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
        return self.delivery(supplier, number, principal=principal)

    # ------------------------------------------------------------ invoices

    def receive_invoice(self, invoice: Invoice, *, principal: Principal, key: str) -> Invoice:
        (outcome,) = self.receive_invoices([invoice], principal=principal, key=key, atomic=True)
        if outcome.error is not None:
            raise outcome.error
        return self.invoice(invoice.seller, invoice.code, invoice.number, principal=principal)

    def receive_invoices(
        self, invoices: Sequence[Invoice], *, principal: Principal, key: str, atomic: bool = False
    ) -> list[Outcome]:
        """The seller's invoices (a seller's number only once), each matched at once."""
        actor = principal.label

        def work(conn: Connection) -> list[Outcome]:
            return self._batch(conn, principal, key, Act.ISSUE_INVOICE,
                               tuple(invoices), lambda: run(conn),
                               atomic=atomic)  # fmt: skip

        def run(conn: Connection) -> list[Outcome]:
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
                    authorize(principal, Act.ISSUE_INVOICE, v.seller)
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
        self,
        *,
        principal: Principal,
        key: str,
        invoice_ids: Sequence[int] | None = None,
    ) -> dict[int, MatchResult]:
        """The buyer matches again its invoices not yet confirmed (all, or those named):
        after deliveries are accepted, say."""
        authorize(principal, Act.MATCH_INVOICES, principal.org)
        buyer = principal.org
        request = {"invoices": sorted(invoice_ids) if invoice_ids else None}

        def work(conn: Connection) -> dict[int, MatchResult]:
            def run() -> dict[int, MatchResult]:
                if invoice_ids:
                    invoices = list(repo.invoices_by_id(conn, invoice_ids).values())
                    for i in invoice_ids:
                        v = next((x for x in invoices if x.id == i), None)
                        if v is None or not may_see(principal, v.buyer, v.seller):
                            raise InvoiceNotFound(f"No invoice {i}.")
                        authorize(principal, Act.MATCH_INVOICES, v.buyer)
                else:
                    invoices = [
                        v
                        for status in (InvoiceStatus.RECEIVED, InvoiceStatus.EXCEPTIONS)
                        for v in repo.list_invoices(conn, buyer, status, 1_000_000)
                        if v.buyer == buyer
                    ]
                orders = repo.orders_by_number(conn, [(v.buyer, v.order_number) for v in invoices])
                return self._match(
                    conn, invoices, orders, actor=principal.label, now=self.clock.now_us()
                )

            return self._single(conn, principal, key, Act.MATCH_INVOICES, request, run,
                                dict[int, MatchResult])  # fmt: skip

        return self.db.transaction(work)

    def invoice(
        self, seller: str, code: str | None, number: str, *, principal: Principal
    ) -> Invoice:
        key = (seller, code or "", number)
        found = self.db.transaction(lambda c: repo.invoices_by_number(c, [key]), readonly=True).get(
            key
        )
        if found is None or not may_see(principal, found.buyer, found.seller):
            raise InvoiceNotFound(
                f"{seller} issued no invoice {invoice_key(seller, code, number)}."
            )
        return found

    def invoice_exceptions(self, invoice_id: int, *, principal: Principal) -> list[dict[str, Any]]:
        def work(conn: Connection) -> list[dict[str, Any]]:
            v = repo.invoices_by_id(conn, [invoice_id]).get(invoice_id)
            if v is None or not may_see(principal, v.buyer, v.seller):
                raise InvoiceNotFound(f"No invoice {invoice_id}.")
            return repo.invoice_exceptions(conn, invoice_id)

        return self.db.transaction(work, readonly=True)

    def invoices(
        self,
        *,
        principal: Principal,
        org: str | None = None,
        status: InvoiceStatus | None = None,
        limit: int = 100,
        before: int | None = None,
    ) -> list[Invoice]:
        org = _scope(principal, org)
        if org == _NOTHING:
            return []
        return self.db.transaction(
            lambda c: repo.list_invoices(c, org, status, limit, before), readonly=True
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
        principal: Principal,
        key: str,
    ) -> Payable:
        """The buyer confirms it owes the invoice's total: a payable, due on ``due_date``.
        An invoice with match exceptions needs ``override_reason``, which is recorded."""
        actor = principal.label
        request = {"seller": seller, "code": code, "number": number, "due_date": due_date,
                   "override_reason": override_reason}  # fmt: skip

        def work(conn: Connection) -> int:
            doc = (seller, code or "", number)
            invoice = repo.invoices_by_number(conn, [doc]).get(doc)
            if invoice is None or not may_see(principal, invoice.buyer, invoice.seller):
                raise InvoiceNotFound(
                    f"{seller} issued no invoice {invoice_key(seller, code, number)}."
                )
            authorize(principal, Act.CONFIRM_PAYABLE, invoice.buyer)
            return self._single(conn, principal, key, Act.CONFIRM_PAYABLE, request,
                                lambda: run(conn, invoice), int)  # fmt: skip

        def run(conn: Connection, invoice: Invoice) -> int:
            now = self.clock.now_us()
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

        return self.payable(self.db.transaction(work), principal=principal)

    def payable(self, payable_id: int, *, principal: Principal) -> Payable:
        found = self.db.transaction(lambda c: repo.payable(c, payable_id), readonly=True)
        if found is None or not may_see(principal, found.buyer, found.supplier):
            raise PayableNotFound(f"No payable {payable_id}.")
        return found

    def payables(
        self,
        *,
        principal: Principal,
        org: str | None = None,
        limit: int = 100,
        before: int | None = None,
        status: PayableStatus | None = None,
        due_from: date | None = None,
        due_to: date | None = None,
    ) -> list[Payable]:
        org = _scope(principal, org)
        if org == _NOTHING:
            return []
        return self.db.transaction(
            lambda c: repo.list_payables(
                c,
                org,
                limit,
                before,
                status=status.value if status else None,
                due_from=due_from,
                due_to=due_to,
            ),
            readonly=True,
        )

    def reduce_payable(
        self, payable_id: int, amount: int, *, why: str, principal: Principal, key: str
    ) -> Payable:
        """The supplier acknowledges a payment outside the platform: ``amount`` off the
        payable's open amount; never below zero."""
        actor = principal.label
        request = {"payable": payable_id, "amount": amount, "why": why}

        def work(conn: Connection) -> None:
            current = repo.payable(conn, payable_id)
            if current is None or not may_see(principal, current.buyer, current.supplier):
                raise PayableNotFound(f"No payable {payable_id}.")
            authorize(principal, Act.REDUCE_PAYABLE, current.supplier)
            self._single(conn, principal, key, Act.REDUCE_PAYABLE, request,
                         lambda: run(conn, current), None)  # fmt: skip

        def run(conn: Connection, current: Payable) -> None:
            remaining = reduce_open(current, amount)
            repo.set_open_amount(conn, payable_id, remaining)
            repo.insert_audit(
                conn,
                [audit_row("payable", str(payable_id), "reduced", actor, self.clock.now_us(),
                           {"amount": amount, "open": remaining, "why": why})],
            )  # fmt: skip

        self.db.transaction(work)
        return self.payable(payable_id, principal=principal)

    # ------------------------------------------------------------ audit

    def audit(self, entity: str, key: str, *, principal: Principal) -> list[dict[str, Any]]:
        """Every recorded change of one record the principal may see: what, who, when."""

        def work(conn: Connection) -> list[dict[str, Any]]:
            if not principal.sees_everything and not _party_to(conn, principal, entity, key):
                return []
            return repo.audit_for(conn, entity, key)

        return self.db.transaction(work, readonly=True)


_NOTHING = "\0nothing"  # a scope that matches no organization


def _scope(principal: Principal, org: str | None) -> str | None:
    """The organization a listing is limited to: any (``org``) for those who see
    everything, else the principal's own; another's is nothing."""
    if principal.sees_everything:
        return org
    if org is not None and org != principal.org:
        return _NOTHING
    return principal.org


def _party_to(conn: Connection, principal: Principal, entity: str, key: str) -> bool:
    """Whether the principal is a party to the record ``entity``/``key`` of the audit
    trail (the whole trail is for operators and auditors)."""
    org = principal.org
    head, _, rest = key.partition("/")
    if entity == "organization":
        return key == org
    if entity == "order":
        o = repo.orders_by_number(conn, [(head, rest)]).get((head, rest))
        return o is not None and org in (o.buyer, o.supplier)
    if entity == "delivery":
        d = repo.deliveries_by_number(conn, [(head, rest)]).get((head, rest))
        return d is not None and org in (d.buyer, d.supplier)
    if entity == "invoice":
        return head == org or any(
            v.buyer == org and invoice_key(v.seller, v.code, v.number) == key
            for v in repo.list_invoices(conn, org, None, 1_000_000)
        )
    if entity == "payable" and key.isdigit():
        p = repo.payable(conn, int(key))
        return p is not None and org in (p.buyer, p.supplier)
    if entity in ("relationship", "credit"):
        return org in key.split("/")[0].split(">")
    if entity == "cash":
        return head == org
    return False
