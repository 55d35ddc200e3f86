"""The marketplace's first use cases through the services, on SQLite and PostgreSQL: a
holder's request, funders' quotes (only those with a line to the obligor see it), and the
holder taking the best the market offers — cheapest first, split across funders, each fill
an atomic financing, the books reconciled after."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.adapters.reconciliation_queries import load_books
from capillary.domain.errors import (
    CapillaryError,
    Forbidden,
    FragmentNotFound,
    NotHolder,
    OfferClosed,
    OfferNotFound,
    ValidationError,
)
from capillary.domain.market import MarketQuote, Status
from capillary.domain.reconciliation import reconcile
from capillary.services.closed_loop import loop_services
from tests.support.acting import as_, operator
from tests.support.loop import OPS, Loop, Y

MATURITY = date(2027, 3, 1)


@pytest.fixture
def market(store_url: str) -> Iterator[tuple[Loop, Database, int]]:
    db = Database(store_url)
    clock = ManualClock()
    loop = Loop(db, clock)
    loop.certs.on(date(2026, 11, 2))
    payable = loop.payable("core", "tier1", 1_000_000, "26442000000000000001")
    loop.certs.set_issuance_limit(obligor="core", cur="CNY", limit=10**12, actor=OPS)
    for funder in ("bank", "bank2"):
        loop.certs.deposit(org=funder, cur="CNY", amount=10**11, key=f"cash-{funder}", actor=OPS)
    loop.certs.grant_credit(funder="bank", obligor="core", cur="CNY", limit=250_000 * Y,
                            expires_on=date(2027, 12, 31), actor=OPS)  # fmt: skip
    issued = loop.certs.issue(obligor="core", holder="tier1", payable_ids=[payable],
                              face=1_000_000 * Y, maturity=MATURITY, actor=OPS)  # fmt: skip
    number = issued.certificate.number
    loop.certs.accept(number, by="tier1", actor="tier1")
    root = loop.certs.fragments(number)[0]
    yield loop, db, root.id
    db.dispose()


def test_a_request_fills_from_the_cheapest_quotes_first(
    market: tuple[Loop, Database, int],
) -> None:
    loop, db, root = market
    m = loop_services(db, loop.ledger, clock=loop.clock).market
    loop.certs.on(date(2026, 12, 1))
    tier1 = as_("tier1")
    asked = m.request_financing(principal=tier1, fragment_id=root, amount=400_000 * Y,
                                max_rate=Decimal("0.06"), expires_on=date(2026, 12, 31),
                                key="r1")  # fmt: skip
    # bank2 has no line to the core yet: for it the request does not exist.
    with pytest.raises(OfferNotFound):
        m.quote_request(asked.id, principal=as_("bank2"), rate=Decimal("0.04"),
                        amount=100_000 * Y, valid_until=date(2026, 12, 10), key="q0")  # fmt: skip
    assert m.financing_requests(principal=as_("bank2")) == []
    loop.certs.grant_credit(funder="bank2", obligor="core", cur="CNY", limit=10**10,
                            expires_on=date(2027, 12, 31), actor=OPS)  # fmt: skip
    assert [r.id for r in m.financing_requests(principal=as_("bank2"))] == [asked.id]

    # bank quotes 5% for 300,000 (its line allows 250,000); bank2 4.5% for 150,000, and a
    # dearer 7% that is beyond what tier1 accepts.
    def quote(funder: str, rate: str, amount: int, key: str) -> MarketQuote:
        until = date(2026, 12, 10)
        return m.quote_request(asked.id, principal=as_(funder), rate=Decimal(rate),
                               amount=amount * Y, valid_until=until, key=key)  # fmt: skip

    q_bank = quote("bank", "0.05", 300_000, "q1")
    q_bank2 = quote("bank2", "0.045", 150_000, "q2")
    quote("bank2", "0.07", 400_000, "q3")
    assert {q.id for q in m.quotes(asked.id, principal=tier1)} >= {q_bank.id, q_bank2.id}
    assert {q.funder for q in m.quotes(asked.id, principal=as_("bank"))} == {"bank"}
    # Someone else cannot take the market for tier1.
    with pytest.raises((Forbidden, OfferNotFound)):
        m.fill(asked.id, principal=as_("tier2"), key="f0")
    cash_before = loop.cash("tier1")
    (before,) = m.view(principal=as_("tier2"))  # summarized now, read again once it changes
    assert (before.requested, before.filled) == (400_000 * Y, 0)

    fills = m.fill(asked.id, principal=tier1, key="f1")
    assert [(f.funder, f.amount, f.rate) for f in fills] == [
        ("bank2", 150_000 * Y, Decimal("0.045")),  # the cheapest first
        ("bank", 250_000 * Y, Decimal("0.05")),  # then the next, to its credit line
    ]
    assert m.fill(asked.id, principal=tier1, key="f1") == fills  # a replay changes nothing
    done = m.financing_request(asked.id, principal=tier1)
    assert (done.filled, done.status) == (400_000 * Y, Status.FILLED)
    # Each fill was a financing: the funders hold their fragments, tier1 has the cash.
    number = loop.certs.service.certificate_of(root, principal=tier1).number
    held = {f.holder: f.amount for f in loop.certs.fragments(number)
            if f.status.value == "active"}  # fmt: skip
    assert held["bank2"] == 150_000 * Y
    assert held["bank"] == 250_000 * Y
    assert held["tier1"] == 600_000 * Y
    days = (MATURITY - date(2026, 12, 1)).days
    sold = ((150_000 * Y, Decimal("0.045")), (250_000 * Y, Decimal("0.05")))
    expected = sum(a - int((Decimal(a) * r * days / 360).to_integral_value()) for a, r in sold)
    assert loop.cash("tier1") - cash_before == expected
    # Filled: nothing more to take, nothing to cancel.
    with pytest.raises(OfferClosed):
        m.fill(asked.id, principal=tier1, key="f2")
    with pytest.raises(OfferClosed):
        m.cancel_request(asked.id, principal=tier1, key="c1")
    books, currency_of = db.transaction(load_books, readonly=True)
    assert reconcile(books, currency_of) == []
    # The market's view, to any participant: asked 400,000, quoted 850,000, all filled.
    (seen,) = m.view(principal=as_("tier2"))
    assert (seen.requested, seen.quoted, seen.filled, seen.unmet) == (
        400_000 * Y, 850_000 * Y, 400_000 * Y, 0,
    )  # fmt: skip
    assert seen.idle == 450_000 * Y  # quoted and not taken: bank's 50,000, bank2's 400,000
    assert seen.lowest_rate == Decimal("0.045")
    assert seen.average_rate == Decimal("0.048125")  # (150k×4.5% + 250k×5%) / 400k


def test_requests_are_refused_when_they_cannot_be_financed(
    market: tuple[Loop, Database, int],
) -> None:
    loop, db, root = market
    m = loop_services(db, loop.ledger, clock=loop.clock).market
    tier1 = as_("tier1")
    bad: list[dict[str, object]] = [
        {"amount": 50 * Y},  # below the smallest fragment
        {"amount": 999_950 * Y},  # leaves less than a fragment
        {"amount": 2_000_000 * Y},  # more than the fragment
        {"expires_on": date(2027, 3, 1)},  # not before maturity
        {"max_rate": Decimal("0.9")},  # beyond the platform's rates
    ]
    for n, change in enumerate(bad):
        terms = {"amount": 100_000 * Y, "max_rate": Decimal("0.05"),
                 "expires_on": date(2026, 12, 31), **change}  # fmt: skip
        with pytest.raises(CapillaryError) as refused:
            m.request_financing(principal=tier1, fragment_id=root, key=f"bad{n}",
                                **terms)  # type: ignore[arg-type]  # fmt: skip
        assert isinstance(refused.value, ValidationError) or refused.value.code == "invalid_rate"
    with pytest.raises((FragmentNotFound, NotHolder)):
        m.request_financing(principal=as_("tier2"), fragment_id=root, amount=100_000 * Y,
                            max_rate=Decimal("0.05"), expires_on=date(2026, 12, 31),
                            key="x")  # fmt: skip
    asked = m.request_financing(principal=tier1, fragment_id=root, amount=100_000 * Y,
                                max_rate=Decimal("0.05"), expires_on=date(2026, 12, 31),
                                key="ok")  # fmt: skip
    assert m.fill(asked.id, principal=tier1, key="nothing") == []  # no quotes yet: no fills
    cancelled = m.cancel_request(asked.id, principal=tier1, key="c")
    assert cancelled.status is Status.CANCELLED
    # Past its last day a request is expired by the daily sweep, and can no longer fill.
    later = m.request_financing(principal=tier1, fragment_id=root, amount=100_000 * Y,
                                max_rate=Decimal("0.05"), expires_on=date(2026, 11, 20),
                                key="later")  # fmt: skip
    loop.certs.on(date(2026, 11, 21))
    assert m.expire(principal=operator()) == (1, 0)
    assert m.financing_request(later.id, principal=tier1).status is Status.EXPIRED
    with pytest.raises(OfferClosed):
        m.fill(later.id, principal=tier1, key="late")
    with pytest.raises(Forbidden):
        m.expire(principal=tier1)
