"""The marketplace as a story, on SQLite and PostgreSQL: three funders with standing rules and
a core enterprise's early-payment offer compete for a tier-3 supplier's request. The operator
publishes the one-year LPR and grades the core; the funders set their spreads and caps once;
the supplier sets, once, that every certificate of the core it receives is offered at 5% or
better. Its customer pays it with a fragment; the worker's sweep posts the request and fills
it from the cheapest sources first — the core's own cash, then the funders in price order
within their caps — and the view shows supply, demand and the spread by tier. The request's
book replays to the fills it made."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.adapters.reconciliation_queries import load_books
from capillary.domain.errors import Forbidden, OfferNotFound, ValidationError
from capillary.domain.market import Status
from capillary.domain.parties import Role
from capillary.domain.pricing import discount
from capillary.domain.reconciliation import reconcile
from capillary.services.closed_loop import LoopServices, loop_services
from capillary.services.parties import new_organization
from tests.support.acting import as_, operator
from tests.support.loop import OPS, Loop, Y

MATURITY = date(2027, 3, 1)
TODAY = date(2026, 12, 1)  # 90 days to maturity: the 31-90 tenor bucket
BANK3 = as_("bank3")


@pytest.fixture
def story(store_url: str) -> Iterator[tuple[Loop, Database, LoopServices, int]]:
    db = Database(store_url)
    loop = Loop(db, ManualClock())
    loop.parties.register(new_organization(code="bank3", name="Bank Three", scheme="uscc",
                                           identifier="91110000710935732K",
                                           roles=frozenset({Role.FUNDER})))  # fmt: skip
    certs = loop.certs
    certs.on(date(2026, 11, 2))
    payable = loop.payable("core", "tier1", 1_000_000, "26442000000000000001")
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=10**12, actor=OPS)
    issued = certs.issue(obligor="core", holder="tier1", payable_ids=[payable],
                         face=900_000 * Y, maturity=MATURITY, actor=OPS)  # fmt: skip
    number = issued.certificate.number
    certs.accept(number, by="tier1", actor="tier1")
    root = certs.fragments(number)[0].id
    below, _ = certs.transfer(sender="tier1", fragment_id=root, recipient="tier2",
                              amount=300_000 * Y, reference="contract:X",
                              actor="tier1")  # fmt: skip
    for funder in ("bank", "bank2", "bank3"):
        certs.deposit(org=funder, cur="CNY", amount=10**11, key=f"cash-{funder}", actor=OPS)
        certs.grant_credit(funder=funder, obligor="core", cur="CNY", limit=10**10,
                           expires_on=date(2027, 12, 31), actor=OPS)  # fmt: skip
    certs.deposit(org="core", cur="CNY", amount=30_000 * Y, key="core-cash", actor=OPS)
    certs.on(TODAY)
    services = loop_services(db, loop.ledger, clock=loop.clock)
    yield loop, db, services, below.id
    db.dispose()


def spreads(spread: str) -> dict[tuple[str, str], Decimal]:
    return {("AA", "31-90"): Decimal(spread), ("AA", "91-180"): Decimal(spread) + Decimal("0.002")}


def test_three_funders_and_the_core_compete_and_the_supplier_gets_the_best(
    story: tuple[Loop, Database, LoopServices, int],
) -> None:
    loop, db, s, tier2_fragment = story
    ops, st, m = operator(), s.standing, s.market
    st.publish_base_rate(principal=ops, currency="CNY", rate=Decimal("0.031"), key="lpr")
    with pytest.raises(Forbidden):  # a grade is the operator's to set, with its reason
        st.set_grade("core", principal=as_("bank"), grade="AAA", reason="mine", key="g0")
    st.set_grade("core", principal=ops, grade="AA", reason="Audited 2025 accounts", key="g1")
    # bank +1.2%; bank2 +0.9% but at most 40,000 at any one tier; bank3 +1.5%.
    st.add_rule(principal=as_("bank"), spreads=spreads("0.012"), key="r1")
    st.add_rule(principal=as_("bank2"), spreads=spreads("0.009"), cap_per_tier=40_000 * Y,
                key="r2")  # fmt: skip
    st.add_rule(principal=BANK3, spreads=spreads("0.015"), key="r3")
    with pytest.raises(Forbidden):  # only a funder quotes
        st.add_rule(principal=as_("tier1"), spreads=spreads("0.01"), key="r4")
    with pytest.raises(ValidationError):
        st.add_rule(principal=as_("bank"), spreads={("AA", "2-3 weeks"): Decimal("0.01")},
                    key="r5")  # fmt: skip
    # The core offers 30,000 of its cash for early payment at 3.9% or better.
    offer = s.early_payment.offer(principal=as_("core"), cash=30_000 * Y, currency="CNY",
                                  hurdle=Decimal("0.039"), expires_on=date(2026, 12, 31),
                                  key="ep")  # fmt: skip
    # tier3 offers every certificate of the core it receives at 5% or better, for 5 days.
    standing = st.add_standing_request(principal=as_("tier3"), obligor="core",
                                       max_rate=Decimal("0.05"), days=5, key="s1")  # fmt: skip
    # tier2 pays tier3 100,000 with a fragment; the worker's sweep offers and fills it.
    paid, _ = loop.certs.transfer(sender="tier2", fragment_id=tier2_fragment,
                                  recipient="tier3", amount=100_000 * Y,
                                  reference="contract:Y", actor="tier2")  # fmt: skip
    assert paid.tier == 3
    cash_before = loop.cash("tier3")
    swept = st.run_standing(principal=ops)
    assert (swept.posted, swept.refused) == (1, 0)
    (request,) = m.financing_requests(principal=as_("tier3"))
    assert request.standing_id == standing.id
    assert request.status is Status.FILLED
    # Every funder's rule quoted at LPR + its spread, the tenor being 90 days.
    quotes = {q.funder: q.rate for q in m.quotes(request.id, principal=as_("tier3"))}
    assert quotes == {"bank": Decimal("0.043"), "bank2": Decimal("0.040"),
                      "bank3": Decimal("0.046")}  # fmt: skip
    # Best execution: the core's cash at 3.9% as far as it goes, bank2 to its tier cap,
    # then bank; bank3, the dearest, not at all.
    days = (MATURITY - TODAY).days
    fills = [(f.funder, f.amount, f.rate) for f in _fills(db, request.id)]
    early = fills[0][1]
    assert fills == [
        ("core", early, Decimal("0.039")),
        ("bank2", 40_000 * Y, Decimal("0.04")),
        ("bank", 100_000 * Y - early - 40_000 * Y, Decimal("0.043")),
    ]
    # The core paid what its 30,000 buys at 3.9% for 90 days, to the fen, and no more.
    price = early - discount(early, Decimal("0.039"), days)
    assert price <= 30_000 * Y < price + 2
    received = sum(a - discount(a, r, days) for _, a, r in fills)
    assert loop.cash("tier3") - cash_before == received
    # No designated funder could have done better: each fill is the cheapest left.
    assert [r for *_, r in fills] == sorted(r for *_, r in fills)
    assert max(r for *_, r in fills) < quotes["bank3"]
    programme = s.early_payment.programme(offer.id, principal=as_("core"))
    assert programme.used == price
    # The view: demand 100,000 at tier 3, supply 3 quotes of 100,000 and the core's cash that
    # filled, all demand met; the spread over the LPR is the weighted rate less 3.1%.
    (tier3,) = m.view(principal=as_("tier1"), by="tier")
    assert tier3.group == "tier 3"
    assert (tier3.requested, tier3.filled, tier3.unmet) == (100_000 * Y, 100_000 * Y, 0)
    assert tier3.quoted == 300_000 * Y + early
    assert tier3.idle == 300_000 * Y - (100_000 * Y - early)
    assert tier3.spread is not None
    assert tier3.average_rate is not None
    assert tier3.spread == tier3.average_rate - Decimal("0.031")
    assert Decimal("0.039") < tier3.average_rate < Decimal("0.043")
    # The request's book replays to the fills it made.
    (replayed,) = m.replay(request.id, principal=as_("tier3"))
    assert replayed.reproduced
    assert len(replayed.recorded) == 3
    with pytest.raises(OfferNotFound):  # a funder does not read the holder's whole book
        m.replay(request.id, principal=as_("bank"))
    # A second sweep finds nothing new to offer, and the books reconcile.
    assert st.run_standing(principal=ops).posted == 0
    books, currency_of = db.transaction(load_books, readonly=True)
    assert reconcile(books, currency_of) == []


def test_caps_hold_across_requests_and_a_withdrawn_rule_quotes_no_more(
    story: tuple[Loop, Database, LoopServices, int],
) -> None:
    loop, db, s, tier2_fragment = story
    ops, st, m = operator(), s.standing, s.market
    st.publish_base_rate(principal=ops, currency="CNY", rate=Decimal("0.031"), key="lpr")
    st.set_grade("core", principal=ops, grade="AA", reason="Audited", key="g1")
    rule = st.add_rule(principal=as_("bank2"), spreads=spreads("0.009"),
                       cap_total=50_000 * Y, key="r2")  # fmt: skip
    tier2 = as_("tier2")
    first = m.request_financing(principal=tier2, fragment_id=tier2_fragment,
                                amount=40_000 * Y, max_rate=Decimal("0.05"),
                                expires_on=date(2026, 12, 20), key="a")  # fmt: skip
    assert [f.amount for f in m.fill(first.id, principal=tier2, key="fa")] == [40_000 * Y]
    rest = m.financing_request(first.id, principal=tier2)
    # What is left of the fragment, asked again: the cap has 10,000 room, no more.
    (left,) = [f for f in loop.certs.holdings("tier2") if f.status.value == "active"]
    again = m.request_financing(principal=tier2, fragment_id=left.id, amount=30_000 * Y,
                                max_rate=Decimal("0.05"), expires_on=date(2026, 12, 20),
                                key="b")  # fmt: skip
    assert rest.status is Status.FILLED
    assert [f.amount for f in m.fill(again.id, principal=tier2, key="fb")] == [10_000 * Y]
    # The holder amends: a lower ceiling than any rule quotes; the rule's quote goes.
    amended = m.amend_request(again.id, principal=tier2, max_rate=Decimal("0.035"), key="am")
    assert amended.max_rate == Decimal("0.035")
    assert amended.open_amount == 20_000 * Y
    assert all(q.status is not Status.OPEN for q in m.quotes(again.id, principal=tier2))
    with pytest.raises(ValidationError):  # more than the fragment holds
        m.amend_request(again.id, principal=tier2, amount=10**9, key="am2")
    with pytest.raises((Forbidden, OfferNotFound)):
        m.amend_request(again.id, principal=as_("tier3"), amount=10_000 * Y, key="am3")
    # Back to 5%: quoted afresh; withdrawn, the rule's quotes go and no new ones come.
    m.amend_request(again.id, principal=tier2, max_rate=Decimal("0.05"), key="am4")
    assert any(q.status is Status.OPEN for q in m.quotes(again.id, principal=tier2))
    st.withdraw_rule(rule.id, principal=as_("bank2"), key="w")
    assert all(q.status is not Status.OPEN for q in m.quotes(again.id, principal=tier2))
    assert m.fill(again.id, principal=tier2, key="fc") == []
    for request_id in (first.id, again.id):
        assert all(r.reproduced for r in m.replay(request_id, principal=ops))
    books, currency_of = db.transaction(load_books, readonly=True)
    assert reconcile(books, currency_of) == []


def _fills(db: Database, request_id: int) -> list[object]:
    from capillary.adapters import market_repository as repo

    class Row:
        def __init__(self, f: dict[str, object]) -> None:
            self.funder, self.amount, self.rate = f["funder"], f["amount"], Decimal(str(f["rate"]))

    return [Row(f) for f in db.transaction(lambda c: repo.fills(c, request_id), readonly=True)]
