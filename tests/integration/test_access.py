"""The trust boundary, tried as an adversary would: who may do what, who sees what, the
platform clock, and idempotent writes (issue 7's attacks, each now harmless)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.domain import errors
from capillary.domain.access import WHO_MAY, Act, Party, authorize
from capillary.domain.certificates import CertificateStatus
from capillary.domain.parties import Role
from capillary.services.platform import PlatformService
from tests.support.acting import as_, auditor, operator
from tests.support.loop import Loop, Y


@pytest.fixture
def world(store_url: str, clock: ManualClock) -> Iterator[tuple[Loop, str, int]]:
    """tier-1 holds a 1,000,000.00 certificate of the core; it paid tier-2 300,000.00."""
    db = Database(store_url)
    loop = Loop(db, clock)
    certs = loop.certs
    payable = loop.payable("core", "tier1", 1_000_000, "26442000000000000001")
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=5_000_000 * Y)
    certs.on(date(2026, 11, 2))
    certs.grant_credit(funder="bank", obligor="core", cur="CNY", limit=2_000_000 * Y,
                       expires_on=date(2027, 12, 31))  # fmt: skip
    certs.deposit(org="bank", cur="CNY", amount=1_000_000 * Y, key="wire")
    number = certs.issue(obligor="core", holder="tier1", payable_ids=[payable],
                         face=1_000_000 * Y, maturity=date(2027, 3, 1),
                         issue_date=date(2026, 11, 2)).certificate.number  # fmt: skip
    certs.accept(number, by="tier1")
    (root,) = certs.fragments(number)
    certs.transfer(sender="tier1", fragment_id=root.id, recipient="tier2",
                   amount=300_000 * Y, reference="contract:t2")  # fmt: skip
    yield loop, number, root.id
    db.dispose()


def test_every_write_use_case_has_one_rule() -> None:
    assert set(WHO_MAY) == set(Act)
    for act, party in WHO_MAY.items():
        if party is Party.OPERATOR:
            authorize(operator(), act)
            with pytest.raises(errors.Forbidden):
                authorize(as_("tier1"), act)
        else:
            every = (Role.CORE, Role.FUNDER, Role.SUPPLIER)
            authorize(as_("tier1", *every), act, "tier1")
            with pytest.raises(errors.Forbidden):  # another organization of any kind
                authorize(as_("tier2", *every), act, "tier1")
            with pytest.raises(errors.Forbidden):  # the operator never acts for it
                authorize(operator(), act, "tier1")
        with pytest.raises(errors.Forbidden):  # auditors change nothing
            authorize(auditor(), act, "audit")


def test_nobody_moves_what_it_does_not_hold(world: tuple[Loop, str, int]) -> None:
    loop, number, _ = world
    s = loop.certs.service
    change = next(f for f in s.fragments(number, principal=as_("tier1"))
                  if f.holder == "tier1" and f.status.value == "active")  # fmt: skip
    # A funder cannot buy a fragment on the holder's behalf: there is no such call, and an
    # offer only the holder may make.
    with pytest.raises(errors.FragmentNotFound):
        s.offer_financing(principal=as_("bank", Role.FUNDER), fragment_id=change.id,
                          funder="bank", amount=change.amount, rate=Decimal("0.3599"),
                          key="steal")  # fmt: skip
    # The bank quotes 35.99%: nothing moves unless tier-1 accepts, and the bank cannot.
    quote = s.quote_financing(principal=as_("bank"), fragment_id=change.id, seller="tier1",
                              amount=100_000 * Y, rate=Decimal("0.3599"), key="q")  # fmt: skip
    with pytest.raises(errors.Forbidden):
        s.accept_financing(quote.id, principal=as_("bank"), key="self-accept")
    with pytest.raises(errors.OfferNotFound):
        s.accept_financing(quote.id, principal=as_("tier2"), key="other")
    # tier-2 sees tier-1's change as the path above it? No: siblings stay hidden.
    with pytest.raises(errors.FragmentNotFound):
        s.transfer(principal=as_("tier2"), fragment_id=change.id, recipient="tier3",
                   amount=100_000 * Y, reference="contract:x", key="t")  # fmt: skip
    # The obligor sees the whole tree but holds nothing: forbidden, not hidden.
    with pytest.raises(errors.Forbidden):
        s.transfer(principal=as_("core"), fragment_id=change.id, recipient="tier2",
                   amount=100_000 * Y, reference="contract:x", key="t2")  # fmt: skip


def test_cash_and_credit_are_their_owners(world: tuple[Loop, str, int]) -> None:
    loop, _, _ = world
    s = loop.certs.service
    with pytest.raises(errors.Forbidden):  # a tier-3 supplier withdraws the bank's cash
        s.withdraw(principal=as_("tier3"), org="bank", cur="CNY", amount=1 * Y, key="w")
    with pytest.raises(errors.Forbidden):  # ... or grants credit in the bank's name
        s.grant_credit(principal=as_("tier3"), funder="bank", obligor="core", cur="CNY",
                       limit=1 * Y, expires_on=date(2027, 1, 1), key="g")  # fmt: skip
    with pytest.raises(errors.Forbidden):  # deposits are recorded by the operator only
        s.deposit(principal=as_("tier3"), org="tier3", cur="CNY", amount=1 * Y, key="d")
    with pytest.raises(errors.AccountNotFound):  # nor may it read the bank's balance
        s.cash("bank", "CNY", principal=as_("tier3"))
    assert s.cash("bank", "CNY", principal=as_("bank")) == 1_000_000 * Y
    assert s.credit_lines(principal=as_("tier3")) == []
    assert len(s.credit_lines(principal=as_("bank"))) == 1


def test_what_each_party_sees_of_the_tree(world: tuple[Loop, str, int]) -> None:
    loop, number, root = world
    s = loop.certs.service
    whole = {f.holder for f in s.fragments(number, principal=as_("core"))}
    assert whole == {"tier1", "tier2"}
    tier2 = s.fragments(number, principal=as_("tier2"))
    assert [f.holder for f in tier2] == ["tier1", "tier2"]  # the root above it, its own
    assert root in [f.id for f in tier2]
    # tier-1 sees its own (the spent root and its change), not what it passed below.
    assert len(s.fragments(number, principal=as_("tier1"))) == 2
    with pytest.raises(errors.CertificateNotFound):
        s.certificate(number, principal=as_("tier3"))
    assert s.certificates(principal=as_("tier3")) == []
    assert len(s.fragments(number, principal=auditor())) == 3


def test_settlement_follows_the_clock_never_the_caller(world: tuple[Loop, str, int]) -> None:
    loop, number, _ = world
    certs = loop.certs
    early = certs.settle(on=date(2026, 11, 28))  # 94 days early: nothing is due
    assert (early.settled, early.overdue, early.unpaid) == ([], [], [])
    assert certs.service.certificate(number, principal=operator()).status is (
        CertificateStatus.ACTIVE
    )
    on_the_day = certs.settle(on=date(2027, 3, 1))  # due, cash short: not yet overdue
    assert on_the_day.unpaid == [number]
    assert certs.settle(on=date(2027, 3, 2)).overdue == [number]
    with pytest.raises(errors.Forbidden):
        certs.service.settle(principal=as_("tier1"), key="mine")


def test_expired_lines_cannot_be_drawn(world: tuple[Loop, str, int]) -> None:
    loop, number, _ = world
    certs = loop.certs
    change = next(f for f in certs.service.fragments(number, principal=as_("tier1"))
                  if f.holder == "tier1" and f.status.value == "active")  # fmt: skip
    offer = certs.service.offer_financing(principal=as_("tier1"), fragment_id=change.id,
                                          funder="bank", amount=100_000 * Y,
                                          rate=Decimal("0.05"), key="o")  # fmt: skip
    certs.on(date(2027, 1, 1))
    certs.service.grant_credit(principal=as_("bank"), funder="bank", obligor="core",
                               cur="CNY", limit=2_000_000 * Y, expires_on=date(2027, 1, 1),
                               key="shorter")  # fmt: skip
    certs.on(date(2027, 1, 2))
    with pytest.raises(errors.CreditLineExpired):
        certs.service.accept_financing(offer.id, principal=as_("bank"), key="late")


def test_every_write_is_idempotent(world: tuple[Loop, str, int]) -> None:
    loop, _, _ = world
    s = loop.certs.service
    first = s.deposit(principal=operator(), org="tier1", cur="CNY", amount=5 * Y, key="dep-9")
    again = s.deposit(principal=operator(), org="tier1", cur="CNY", amount=5 * Y, key="dep-9")
    assert first == again
    assert s.cash("tier1", "CNY", principal=as_("tier1")) == 5 * Y
    with pytest.raises(errors.IdempotencyConflict):
        s.deposit(principal=operator(), org="tier1", cur="CNY", amount=6 * Y, key="dep-9")
    # Keys are scoped to the organization: another's same key is its own request.
    s.withdraw(principal=as_("tier1"), org="tier1", cur="CNY", amount=1 * Y, key="dep-9")
    assert s.cash("tier1", "CNY", principal=as_("tier1")) == 4 * Y


def test_a_sandbox_clock_moves_forward_only_and_production_cannot(store_url: str) -> None:
    from capillary.services.parties import new_organization

    db = Database(store_url)
    admin = PlatformService(db)
    ops = new_organization(
        code="ops", name="Operator", scheme="uscc", identifier="91310115MA1K4LQP0J",
        roles=frozenset({Role.OPERATOR}),
    )  # fmt: skip
    admin.init(ops, sandbox=True, start=date(2026, 11, 2))
    with pytest.raises(errors.PlatformExists):
        admin.init(ops, sandbox=False)
    assert admin.reading().today == date(2026, 11, 2)
    a_year = date(2027, 11, 2)
    assert admin.advance_clock(days=365, principal=operator(), key="a-year").today == a_year
    # The same advance retried under its key moves the clock once.
    assert admin.advance_clock(days=365, principal=operator(), key="a-year").today == a_year
    with pytest.raises(errors.ClockBackwards):
        admin.set_clock(date(2027, 1, 1), principal=operator(), key="back")
    with pytest.raises(errors.Forbidden):
        admin.set_clock(date(2028, 1, 1), principal=as_("tier1"), key="mine")
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE platform SET kind = 'production', clock_us = NULL")
    with pytest.raises(errors.ClockNotSettable):
        admin.set_clock(date(2028, 1, 1), principal=operator(), key="prod")
    db.dispose()
