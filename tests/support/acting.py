"""Scenario builders that let a story say who acts in its own words.

The services take a principal and an idempotency key on every write, and the business date
from the platform clock. A story says "tier-1 transfers on 10 November": these wrappers turn
that into the principal of the party that acts (never the operator acting for it), a fresh
key, and the test clock moved to that day. Authorization itself is tested head-on in
``tests/integration/test_access.py``; here every call is made by the party entitled to it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from capillary.adapters.clock import ManualClock, start_of
from capillary.domain.access import Principal
from capillary.domain.parties import Organization, Role
from capillary.domain.pricing import DayCount
from capillary.services.certificates import IssueRequest, Transfer
from capillary.services.closed_loop import LoopServices
from capillary.services.financing import Financed
from capillary.services.moves import Move, Moved
from capillary.services.parties import PartiesService
from capillary.services.trade import TradeService

OPERATOR = "ops"
_keys = itertools.count(1)


def key() -> str:
    return f"k{next(_keys)}"


def operator() -> Principal:
    return Principal(OPERATOR, "test", frozenset({Role.OPERATOR}))


def auditor() -> Principal:
    return Principal("audit", "test", frozenset({Role.AUDITOR}))


#: The roles the test casts hold (the stories' organizations; others are suppliers).
ROLES = {
    "core": Role.CORE, "huaxin-auto": Role.CORE, "bank": Role.FUNDER, "bank2": Role.FUNDER,
    "bank3": Role.FUNDER,
    "merchants-bank": Role.FUNDER, "cicc-factoring": Role.FUNDER,
}  # fmt: skip


def as_(org: str, *roles: Role) -> Principal:
    """``org`` acting for itself, with the roles it holds in the stories (or ``roles``)."""
    return Principal(org, "test", frozenset(roles or {ROLES.get(org, Role.SUPPLIER)}))


class Parties:
    """Parties use cases as the operator onboards organizations."""

    def __init__(self, service: PartiesService) -> None:
        self.service = service
        self.db = service.db

    def register(self, org: Organization, **_: Any) -> Organization:
        return self.service.register(org, principal=operator(), key=key())

    def register_many(self, orgs: Sequence[Organization], **_: Any) -> Any:
        return self.service.register_many(orgs, principal=operator(), key=key())

    def relate(self, *, buyer: str, supplier: str, **_: Any) -> Any:
        return self.service.relate(buyer=buyer, supplier=supplier, principal=operator(), key=key())

    def set_relationship(self, **kw: Any) -> Any:
        kw.pop("actor", None)
        return self.service.set_relationship(**kw, principal=operator(), key=key())

    def set_tolerance(self, code: str, tolerance: Any, **_: Any) -> Any:
        return self.service.set_tolerance(code, tolerance, principal=as_(code), key=key())

    def cash_account(self, org: str, currency: str) -> Any:
        return self.service.cash_account(org, currency, principal=as_(org))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.service, name)


class Trade:
    """Trade use cases, each by the document's own party."""

    def __init__(self, service: TradeService) -> None:
        self.service = service
        self.db = service.db

    def create_order(self, order: Any, **_: Any) -> Any:
        return self.service.create_order(order, principal=as_(order.buyer), key=key())

    def amend_order(self, buyer: str, number: str, **kw: Any) -> Any:
        kw.pop("actor", None)
        return self.service.amend_order(buyer, number, **kw, principal=as_(buyer), key=key())

    def cancel_order(self, buyer: str, number: str, **kw: Any) -> Any:
        kw.pop("actor", None)
        return self.service.cancel_order(buyer, number, **kw, principal=as_(buyer), key=key())

    def record_delivery(self, delivery: Any, **_: Any) -> Any:
        return self.service.record_delivery(delivery, principal=as_(delivery.supplier), key=key())

    def accept_delivery(self, supplier: str, number: str, **kw: Any) -> Any:
        kw.pop("actor", None)
        buyer = self.service.delivery(supplier, number, principal=operator()).buyer
        return self.service.accept_delivery(supplier, number, **kw, principal=as_(buyer), key=key())

    def receive_invoice(self, invoice: Any, **_: Any) -> Any:
        return self.service.receive_invoice(invoice, principal=as_(invoice.seller), key=key())

    def match(self, *, buyer: str, **_: Any) -> Any:
        return self.service.match(principal=as_(buyer), key=key())

    def confirm_invoice(self, seller: str, code: str | None, number: str, **kw: Any) -> Any:
        kw.pop("actor", None)
        buyer = self.service.invoice(seller, code, number, principal=operator()).buyer
        return self.service.confirm_invoice(
            seller, code, number, **kw, principal=as_(buyer), key=key()
        )

    def reduce_payable(self, payable_id: int, amount: int, **kw: Any) -> Any:
        kw.pop("actor", None)
        supplier = self.service.payable(payable_id, principal=operator()).supplier
        return self.service.reduce_payable(
            payable_id, amount, **kw, principal=as_(supplier), key=key()
        )

    def __getattr__(self, name: str) -> Any:
        """Reads, as the operator (who sees everything); internals as they are."""
        method = getattr(self.service, name)
        if name.startswith("_"):
            return method
        return lambda *a, **kw: method(*a, **kw, principal=operator())


class AnyLoop:
    """The closed loop's services as one object, for tests that call them all: each name is
    looked up in the service that holds it."""

    def __init__(self, loop: LoopServices) -> None:
        self.loop = loop
        self.db = loop.certificates.db
        self.ledger = loop.certificates.ledger
        self.rules = loop.certificates.rules
        self.clock = loop.certificates.clock

    def __getattr__(self, name: str) -> Any:
        for service in (self.loop.certificates, self.loop.cash, self.loop.credit,
                        self.loop.financing, self.loop.settlement):  # fmt: skip
            if hasattr(type(service), name):
                return getattr(service, name)
        raise AttributeError(name)


class Certificates:
    """Certificate use cases by the party entitled to each, on the day the story names."""

    def __init__(self, loop: LoopServices, clock: ManualClock) -> None:
        self.service = AnyLoop(loop)
        service = loop.certificates
        self.clock = clock
        self.db = service.db
        self.ledger = service.ledger
        self.rules = service.rules

    def on(self, day: date | None) -> None:
        if day is not None:
            self.clock.current = start_of(day) + 9 * 3_600_000_000  # 09:00 in Shanghai

    def set_issuance_limit(self, **kw: Any) -> None:
        kw.pop("actor", None)
        self.service.set_issuance_limit(**kw, principal=operator(), key=key())

    def grant_credit(self, *, funder: str, **kw: Any) -> Any:
        kw.pop("actor", None)
        return self.service.grant_credit(funder=funder, **kw, principal=as_(funder), key=key())

    def deposit(self, *, org: str, cur: str, amount: int, key: str, **_: Any) -> int:
        return self.service.deposit(principal=operator(), org=org, cur=cur, amount=amount, key=key)

    def withdraw(self, *, org: str, cur: str, amount: int, key: str, **_: Any) -> int:
        return self.service.withdraw(principal=as_(org), org=org, cur=cur, amount=amount, key=key)

    def cash(self, org: str, cur: str) -> int:
        return self.service.cash(org, cur, principal=operator())

    def issue(self, *, obligor: str, issue_date: date | None = None, **kw: Any) -> Any:
        kw.pop("actor", None)
        self.on(issue_date)
        return self.service.issue(obligor=obligor, **kw, principal=as_(obligor), key=key())

    def issue_many(self, requests: Sequence[IssueRequest], **_: Any) -> Any:
        return self.service.issue_many(requests, principal=as_(requests[0].obligor), key=key())

    def accept(self, number: str, *, by: str, **_: Any) -> Any:
        return self.service.accept(number, principal=as_(by), key=key())

    def cancel(self, number: str, *, reason: str, **_: Any) -> Any:
        obligor = self.service.certificate(number, principal=operator()).obligor
        return self.service.cancel(number, principal=as_(obligor), reason=reason, key=key())

    def transfer(self, *, sender: str, on: date | None = None, **kw: Any) -> Any:
        kw.pop("actor", None)
        self.on(on)
        return self.service.transfer(**kw, principal=as_(sender), key=key())

    def finance(
        self,
        *,
        fragment_id: int,
        seller: str,
        funder: str,
        amount: int,
        rate: Decimal,
        on: date | None = None,
        day_count: DayCount = DayCount.ACT_360,
        fee_rate: Decimal = Decimal(0),
        recourse: bool = False,
        **_: Any,
    ) -> Financed:
        """The seller offers, the funder accepts: a financing agreed by both."""
        self.on(on)
        offer = self.service.offer_financing(
            principal=as_(seller), fragment_id=fragment_id, funder=funder, amount=amount,
            rate=rate, day_count=day_count, fee_rate=fee_rate, recourse=recourse, key=key(),
        )  # fmt: skip
        return self.service.accept_financing(offer.id, principal=as_(funder), key=key())

    def move(self, moves: Sequence[Move], **_: Any) -> list[Moved]:
        """Transfers by one sender, or financings offered and accepted in bulk."""
        if all(m.rate is None for m in moves):
            transfers = [
                Transfer(m.fragment_id, m.recipient, m.amount, m.reference or "") for m in moves
            ]
            return self.service.transfer_many(transfers, principal=as_(moves[0].sender), key=key())
        offers = [
            self.service.offer_financing(
                principal=as_(m.sender),
                fragment_id=m.fragment_id,
                funder=m.recipient,
                amount=m.amount,
                rate=m.rate or Decimal(0),
                day_count=m.day_count,
                fee_rate=m.fee_rate,
                recourse=m.recourse,
                key=key(),
            )
            for m in moves
        ]
        done = self.service.accept_financings(
            [o.id for o in offers], principal=as_(moves[0].recipient), key=key()
        )
        return [Moved(f.fragments, f.quote, 0) for f in done]

    def settle(self, *, on: date | None = None, **kw: Any) -> Any:
        kw.pop("actor", None)
        self.on(on)
        return self.service.settle(principal=operator(), key=key(), **kw)

    def pay_early(self, number: str, *, rate: Decimal, on: date | None = None, **kw: Any) -> Any:
        kw.pop("actor", None)
        self.on(on)
        obligor = self.service.certificate(number, principal=operator()).obligor
        return self.service.pay_early(number, principal=as_(obligor), rate=rate, key=key(), **kw)

    def penalty_due(self, number: str, *, on: date) -> int:
        self.on(on)
        return self.service.penalty_due(number, principal=operator())

    def set_calendar_day(self, day: date, **kw: Any) -> None:
        kw.pop("actor", None)
        self.service.set_calendar_day(day, **kw, principal=operator(), key=key())

    def calendar(self) -> Any:
        return self.service.calendar()

    def today(self) -> date:
        return self.service.today()

    def __getattr__(self, name: str) -> Any:
        """Reads, as the operator (who sees everything); internals as they are."""
        method = getattr(self.service, name)
        if name.startswith("_"):
            return method
        return lambda *a, **kw: method(*a, **kw, principal=operator())
