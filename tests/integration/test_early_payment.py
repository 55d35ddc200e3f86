"""Early payment as a market, through the services on SQLite and PostgreSQL: the core offers
its cash with a hurdle; three holders bid the APR they give up; each sees before committing
whether it clears; the clearing run pays the best bids first until the cash is spent, at
prices the pricing gives; settlement at maturity pays only what is still outstanding."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.adapters.reconciliation_queries import load_books
from capillary.domain.errors import Forbidden, OfferClosed, OfferNotFound, ValidationError
from capillary.domain.pricing import discount
from capillary.domain.reconciliation import reconcile
from capillary.services.closed_loop import loop_services
from tests.support.acting import as_
from tests.support.loop import OPS, Loop, Y

MATURITY = date(2027, 3, 1)
TODAY = date(2026, 12, 1)


@pytest.fixture
def book(store_url: str) -> Iterator[tuple[Loop, Database, dict[str, int]]]:
    db = Database(store_url)
    loop = Loop(db, ManualClock())
    certs = loop.certs
    certs.on(date(2026, 11, 2))
    payable = loop.payable("core", "tier1", 1_000_000, "26442000000000000001")
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=10**12, actor=OPS)
    issued = certs.issue(obligor="core", holder="tier1", payable_ids=[payable],
                         face=900_000 * Y, maturity=MATURITY, actor=OPS)  # fmt: skip
    number = issued.certificate.number
    certs.accept(number, by="tier1", actor="tier1")
    root = certs.fragments(number)[0].id
    below, change = certs.transfer(sender="tier1", fragment_id=root, recipient="tier2",
                                   amount=300_000 * Y, reference="contract:X",
                                   actor="tier1")  # fmt: skip
    to3, rest2 = certs.transfer(sender="tier2", fragment_id=below.id, recipient="tier3",
                                amount=100_000 * Y, reference="contract:Y",
                                actor="tier2")  # fmt: skip
    certs.deposit(org="core", cur="CNY", amount=400_000 * Y, key="core-cash", actor=OPS)
    certs.on(TODAY)
    yield loop, db, {"tier1": change.id, "tier2": rest2.id, "tier3": to3.id}
    db.dispose()


def test_the_best_bids_clear_first_until_the_cash_is_spent(
    book: tuple[Loop, Database, dict[str, int]],
) -> None:
    loop, db, held = book
    ep = loop_services(db, loop.ledger, clock=loop.clock).early_payment
    with pytest.raises(Forbidden):  # only an obligor offers its cash
        ep.offer(principal=as_("tier1"), cash=100_000 * Y, currency="CNY",
                 hurdle=Decimal("0.04"), expires_on=date(2026, 12, 31), key="x")  # fmt: skip
    offer = ep.offer(principal=as_("core"), cash=350_000 * Y, currency="CNY",
                     hurdle=Decimal("0.04"), expires_on=date(2026, 12, 31), key="o")  # fmt: skip
    with pytest.raises(OfferNotFound):  # a funder holding none of the core's certificates
        ep.programme(offer.id, principal=as_("bank"))
    bid = lambda who, amount, apr: ep.bid(  # noqa: E731
        offer.id, principal=as_(who), fragment_id=held[who], amount=amount * Y,
        apr=Decimal(apr), key=f"b-{who}",
    )  # fmt: skip
    b1 = bid("tier1", 300_000, "0.05")  # the lowest bid above the hurdle: pays last
    b2 = bid("tier2", 200_000, "0.07")
    bid("tier3", 100_000, "0.065")
    with pytest.raises(ValidationError):  # one open bid a fragment
        ep.bid(offer.id, principal=as_("tier3"), fragment_id=held["tier3"], amount=100 * Y,
               apr=Decimal("0.08"), key="again")  # fmt: skip
    # Before the run: tier2 and tier3 clear in full; tier1 in part; tier1 learns the APR
    # that would clear its whole bid now.
    seen = ep.outlook(offer.id, b1.id, principal=as_("tier1"))
    assert 0 < seen.clearing_now < 300_000 * Y
    assert seen.clearing_rate == Decimal("0.05")
    assert seen.certain_rate is not None
    assert seen.certain_rate > Decimal("0.05")
    assert ep.outlook(offer.id, b2.id, principal=as_("tier2")).clearing_now == 200_000 * Y
    with pytest.raises(OfferNotFound):  # another's bid
        ep.outlook(offer.id, b2.id, principal=as_("tier3"))
    with pytest.raises(Forbidden):
        ep.clear(offer.id, principal=as_("tier1"), key="c0")
    before = {o: loop.cash(o) for o in ("core", "tier1", "tier2", "tier3")}

    done = ep.clear(offer.id, principal=as_("core"), key="c1")
    assert [(c.holder, c.apr) for c in done.cleared] == [
        ("tier2", Decimal("0.07")), ("tier3", Decimal("0.065")), ("tier1", Decimal("0.05")),
    ]  # fmt: skip
    days = (MATURITY - TODAY).days
    for c in done.cleared:
        assert c.paid == c.face - discount(c.face, c.apr, days)
        assert loop.cash(c.holder) - before[c.holder] == c.paid
    assert done.cash_used <= 350_000 * Y
    assert before["core"] - loop.cash("core") == done.cash_used
    assert done.rate == Decimal("0.05")
    assert ep.clear(offer.id, principal=as_("core"), key="c1") == done  # replayed
    assert ep.programme(offer.id, principal=as_("core")).last_rate == Decimal("0.05")
    books, currency_of = db.transaction(load_books, readonly=True)
    assert reconcile(books, currency_of) == []

    # At maturity the core pays what is still outstanding, to whoever holds it.
    loop.certs.deposit(org="core", cur="CNY", amount=600_000 * Y, key="more", actor=OPS)
    loop.certs.on(MATURITY)
    loop.certs.settle(actor=OPS)
    books, currency_of = db.transaction(load_books, readonly=True)
    assert reconcile(books, currency_of) == []
    bought_back = sum(c.face for c in done.cleared)
    for who in ("tier1", "tier2", "tier3"):
        cleared = sum(c.face for c in done.cleared if c.holder == who)
        assert loop.cash(who) - before[who] == (
            sum(c.paid for c in done.cleared if c.holder == who)
            + {"tier1": 600_000, "tier2": 200_000, "tier3": 100_000}[who] * Y
            - cleared
        )
    assert bought_back > 0
    with pytest.raises(OfferClosed):  # the offer's last day has passed
        ep.clear(offer.id, principal=as_("core"), key="c2")
