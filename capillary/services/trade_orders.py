"""Use cases of orders and deliveries: placed, amended and cancelled by the buyer,
delivered by the supplier and accepted by the buyer (bulk and single alike; every change an
audit row in the same database transaction)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
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
    DeliveryAlreadyAccepted,
    DeliveryNotFound,
    DocumentExists,
    OrderCancelled,
    OrderNotFound,
    ValidationError,
)
from capillary.domain.trade import (
    Delivery,
    DeliveryStatus,
    OrderLine,
    OrderStatus,
    PurchaseOrder,
    accept_lines,
    check_delivery,
    check_order,
)
from capillary.domain.units import currency
from capillary.services.outcomes import (
    Fate,
    Outcome,
    audit_row,
)
from capillary.services.trade_core import (
    NOTHING,
    TradeCore,
    order_key,
    receipt,
    same_document,
    scope_of,
    snapshot,
)


class TradeOrders(TradeCore):
    """Orders and deliveries."""

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
            orgs = party_repo.orgs_by_code(conn, {c for o in orders for c in (o.buyer, o.supplier)})
            relations = party_repo.relationships(conn, {(o.buyer, o.supplier) for o in orders})
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
                        if same_document(known, replace(order, version=known.version)):
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
                    {"order_id": oid, "version": 1, "snapshot": snapshot(o), "reason": None,
                     "actor": actor, "at": now}
                    for oid, o in zip(ids, fresh, strict=True)
                ],
            )  # fmt: skip
            invoice_repo.insert_audit(
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
        since: date | None = None,
        until: date | None = None,
    ) -> list[PurchaseOrder]:
        org = scope_of(principal, org)
        if org == NOTHING:
            return []
        return self.db.transaction(
            lambda c: repo.list_orders(c, org, limit, before, since=since, until=until),
            readonly=True,
        )

    def deliveries(
        self,
        *,
        principal: Principal,
        org: str | None = None,
        limit: int = 100,
        before: int | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[Delivery]:
        org = scope_of(principal, org)
        if org == NOTHING:
            return []
        return self.db.transaction(
            lambda c: repo.list_deliveries(c, org, limit, before, since=since, until=until),
            readonly=True,
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
                  "snapshot": snapshot(changed), "reason": reason, "actor": actor, "at": now}],
            )  # fmt: skip
            invoice_repo.insert_audit(
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
                        if same_document(known, d):
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
            invoice_repo.insert_audit(
                conn,
                [
                    audit_row("delivery", f"{d.supplier}/{d.number}", receipt(d), actor, now)
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
            invoice_repo.insert_audit(
                conn,
                [audit_row("delivery", f"{supplier}/{number}", "accepted", actor,
                           self.clock.now_us(),
                           {str(ln.order_line_no): [str(ln.accepted), str(ln.rejected)]
                            for ln in lines})],
            )  # fmt: skip

        self.db.transaction(work)
        return self.delivery(supplier, number, principal=principal)
