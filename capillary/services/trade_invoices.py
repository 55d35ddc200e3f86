"""Use cases of invoices, the three-way match and payables: the supplier's invoices,
matched to the order and accepted deliveries, confirmed by the buyer as payables, reduced by
payments made outside the platform."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters import invoice_repository as invoice_repo
from capillary.adapters import party_repository as party_repo
from capillary.adapters import trade_repository as repo
from capillary.domain.access import Act, Principal, authorize, may_see
from capillary.domain.errors import (
    CapillaryError,
    DuplicateInvoice,
    InvoiceNotFound,
    PayableNotFound,
)
from capillary.domain.events import match_event, payable_event
from capillary.domain.matching import MatchException, MatchResult, three_way_match
from capillary.domain.payables import Payable, PayableStatus, check_confirmation, reduce_open
from capillary.domain.trade import (
    Invoice,
    InvoiceStatus,
    PurchaseOrder,
    check_invoice,
)
from capillary.domain.units import currency
from capillary.services.outbox import emit
from capillary.services.outcomes import (
    Fate,
    Outcome,
    audit_row,
)
from capillary.services.trade_core import NOTHING, TradeCore, invoice_key, same_document, scope_of


class TradeInvoices(TradeCore):
    """Invoices, the match and payables."""

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
            orgs = party_repo.orgs_by_code(conn, {c for v in invoices for c in (v.buyer, v.seller)})
            relations = party_repo.relationships(conn, {(v.buyer, v.seller) for v in invoices})
            orders = repo.orders_by_number(conn, [(v.buyer, v.order_number) for v in invoices])
            existing = invoice_repo.invoices_by_number(
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
                        if same_document(known, v):
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
            ids = invoice_repo.insert_invoices(conn, fresh, now)
            invoice_repo.insert_audit(
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
        billed = invoice_repo.billed_quantities(conn, order_ids, excluding=[v.id for v in pending])
        buyers = party_repo.orgs_by_code(conn, {v.buyer for v in pending})
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
        invoice_repo.record_matches(conn, writes)
        invoice_repo.insert_audit(conn, audit)
        # Told when the verdict is new: a first match, or one that changed.
        emit(conn, [match_event(v.id, v.seller, v.buyer, results[v.id], now)
                    for v, (_, status, _) in zip(pending, writes, strict=True)
                    if v.status is not status])  # fmt: skip
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
                    invoices = list(invoice_repo.invoices_by_id(conn, invoice_ids).values())
                    for i in invoice_ids:
                        v = next((x for x in invoices if x.id == i), None)
                        if v is None or not may_see(principal, v.buyer, v.seller):
                            raise InvoiceNotFound(f"No invoice {i}.")
                        authorize(principal, Act.MATCH_INVOICES, v.buyer)
                else:
                    invoices = [
                        v
                        for status in (InvoiceStatus.RECEIVED, InvoiceStatus.EXCEPTIONS)
                        for v in invoice_repo.list_invoices(conn, buyer, status, 1_000_000)
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
        found = self.db.transaction(
            lambda c: invoice_repo.invoices_by_number(c, [key]), readonly=True
        ).get(key)
        if found is None or not may_see(principal, found.buyer, found.seller):
            raise InvoiceNotFound(
                f"{seller} issued no invoice {invoice_key(seller, code, number)}."
            )
        return found

    def invoice_exceptions(self, invoice_id: int, *, principal: Principal) -> list[dict[str, Any]]:
        def work(conn: Connection) -> list[dict[str, Any]]:
            v = invoice_repo.invoices_by_id(conn, [invoice_id]).get(invoice_id)
            if v is None or not may_see(principal, v.buyer, v.seller):
                raise InvoiceNotFound(f"No invoice {invoice_id}.")
            return invoice_repo.invoice_exceptions(conn, invoice_id)

        return self.db.transaction(work, readonly=True)

    def invoices(
        self,
        *,
        principal: Principal,
        org: str | None = None,
        status: InvoiceStatus | None = None,
        limit: int = 100,
        before: int | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[Invoice]:
        org = scope_of(principal, org)
        if org == NOTHING:
            return []
        return self.db.transaction(
            lambda c: invoice_repo.list_invoices(
                c, org, status, limit, before, since=since, until=until
            ),
            readonly=True,
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
            invoice = invoice_repo.invoices_by_number(conn, [doc]).get(doc)
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
            payable_id = invoice_repo.insert_payable(
                conn, invoice=invoice, due_date=due_date, override_reason=reason, now=now
            )
            invoice_repo.set_invoice_status(conn, invoice.id, InvoiceStatus.CONFIRMED)
            label = invoice_key(seller, code, number)
            detail = {"payable": payable_id, "due_date": due_date.isoformat(), "override": reason}
            invoice_repo.insert_audit(
                conn,
                [
                    audit_row("invoice", label, "confirmed", actor, now, detail),
                    audit_row("payable", str(payable_id), "created", actor, now,
                              {"invoice": label, "amount": invoice.total}),
                ],
            )  # fmt: skip
            made = invoice_repo.payable(conn, payable_id)
            assert made is not None
            emit(conn, [payable_event(made, now)])
            return payable_id

        return self.payable(self.db.transaction(work), principal=principal)

    def payable(self, payable_id: int, *, principal: Principal) -> Payable:
        found = self.db.transaction(lambda c: invoice_repo.payable(c, payable_id), readonly=True)
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
        org = scope_of(principal, org)
        if org == NOTHING:
            return []
        return self.db.transaction(
            lambda c: invoice_repo.list_payables(
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
            current = invoice_repo.payable(conn, payable_id)
            if current is None or not may_see(principal, current.buyer, current.supplier):
                raise PayableNotFound(f"No payable {payable_id}.")
            authorize(principal, Act.REDUCE_PAYABLE, current.supplier)
            self._single(conn, principal, key, Act.REDUCE_PAYABLE, request,
                         lambda: run(conn, current), None)  # fmt: skip

        def run(conn: Connection, current: Payable) -> None:
            remaining = reduce_open(current, amount)
            invoice_repo.set_open_amount(conn, payable_id, remaining)
            invoice_repo.insert_audit(
                conn,
                [audit_row("payable", str(payable_id), "reduced", actor, self.clock.now_us(),
                           {"amount": amount, "open": remaining, "why": why})],
            )  # fmt: skip

        self.db.transaction(work)
        return self.payable(payable_id, principal=principal)
