"""What the trade's services share: the store and clock, idempotent units of work for
single documents and batches, the check of who trades with whom, and who may see a record's
audit trail. The trade itself is :class:`capillary.services.trade.TradeService`: orders and
deliveries (:mod:`~capillary.services.trade_orders`), invoices, the match and payables
(:mod:`~capillary.services.trade_invoices`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from capillary.adapters import invoice_repository as invoice_repo
from capillary.adapters import trade_repository as repo
from capillary.adapters.clock import Clock, SystemClock
from capillary.adapters.database import Database
from capillary.domain.access import Act, Principal
from capillary.domain.errors import (
    Forbidden,
    OrganizationNotFound,
)
from capillary.domain.parties import Organization, Role, require_role, require_trade
from capillary.domain.trade import (
    Delivery,
    DeliveryStatus,
    PurchaseOrder,
)
from capillary.services.idempotency import once, once_outcomes
from capillary.services.outcomes import (
    Outcome,
)

T = TypeVar("T")


def order_key(buyer: str, number: str) -> str:
    return f"{buyer}/{number}"


def invoice_key(seller: str, code: str | None, number: str) -> str:
    return f"{seller}/{code}-{number}" if code else f"{seller}/{number}"


def snapshot(order: PurchaseOrder) -> str:
    data = asdict(order)
    data.pop("id")
    return json.dumps(data, default=str, sort_keys=True)


def same_document(stored: Any, incoming: Any) -> bool:
    """Whether ``incoming`` is ``stored`` again, ignoring what the store assigns (id, status,
    version): a re-import of the same document, not a different one under its number."""
    return bool(replace(stored, id=0) == replace(incoming, id=0, status=stored.status))


def receipt(delivery: Delivery) -> str:
    return "received" if delivery.status is DeliveryStatus.RECEIVED else "received_accepted"


class TradeCore:
    """The base of the trade's services: shared state and unit-of-work helpers."""

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

    # ------------------------------------------------------------ audit

    def audit(self, entity: str, key: str, *, principal: Principal) -> list[dict[str, Any]]:
        """Every recorded change of one record the principal may see: what, who, when."""

        def work(conn: Connection) -> list[dict[str, Any]]:
            if not principal.sees_everything and not party_to(conn, principal, entity, key):
                return []
            return invoice_repo.audit_for(conn, entity, key)

        return self.db.transaction(work, readonly=True)

    def audit_trail(
        self, *, principal: Principal, before: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The whole audit trail, newest first, a page at a time: the platform staff's."""
        if not principal.sees_everything:
            raise Forbidden(f"The audit trail is the operator's and the auditors' to read, "
                            f"not {principal.org}'s.")  # fmt: skip
        return self.db.transaction(
            lambda c: invoice_repo.recent_audit(c, before=before, limit=limit), readonly=True
        )


NOTHING = "\0nothing"  # a scope that matches no organization


def scope_of(principal: Principal, org: str | None) -> str | None:
    """The organization a listing is limited to: any (``org``) for those who see
    everything, else the principal's own; another's is nothing."""
    if principal.sees_everything:
        return org
    if org is not None and org != principal.org:
        return NOTHING
    return principal.org


def party_to(conn: Connection, principal: Principal, entity: str, key: str) -> bool:
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
            for v in invoice_repo.list_invoices(conn, org, None, 1_000_000)
        )
    if entity == "payable" and key.isdigit():
        p = invoice_repo.payable(conn, int(key))
        return p is not None and org in (p.buyer, p.supplier)
    if entity in ("relationship", "credit"):
        return org in key.split("/")[0].split(">")
    if entity == "cash":
        return head == org
    return False
