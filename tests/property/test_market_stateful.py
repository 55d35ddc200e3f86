"""Random lives of the marketplace through its services, on both stores: holders request,
amend, cancel and take the market; funders quote by hand and set or withdraw standing rules
with caps; the core offers its cash for early payment; the standing requests are swept. After
every step: no request, quote, rule cap, credit line or early-payment offer is filled beyond
what it allows; each request's fills are what its book holds and its recorded books replay
to them; fragments sum to each certificate's face; cash is conserved."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from capillary.adapters import market_repository as repo
from capillary.adapters import market_rules_repository as rules_repo
from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.domain import errors
from capillary.domain.certificates import FragmentStatus, check_conservation
from capillary.domain.market import Status
from capillary.services.closed_loop import loop_services
from tests.support.acting import as_, operator
from tests.support.loop import OPS, Loop, Y
from tests.support.stores import store_factory

HOLDERS = ("tier1", "tier2", "tier3")
FUNDERS = ("bank", "bank2")
TODAY = date(2026, 12, 1)
MATURITY = date(2027, 3, 1)
LINE = 600_000 * Y
# What a random step may be refused for; anything else is a bug.
REFUSED = (errors.ValidationError, errors.OfferClosed, errors.FragmentNotActive,
           errors.InvalidRate, errors.BelowMinimumFragment, errors.OfferNotFound)  # fmt: skip

_fresh_store: list[Callable[[], str]] = []
rates = st.sampled_from(["0.035", "0.04", "0.045", "0.05", "0.06"])
shares = st.integers(1, 10)  # tenths of what there is


class MarketMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.db = Database(_fresh_store[0]())
        self.loop = Loop(self.db, ManualClock())
        self.s = loop_services(self.db, self.loop.ledger, clock=self.loop.clock)
        self.n = 0  # for idempotency keys

    def teardown(self) -> None:
        self.db.dispose()

    def key(self) -> str:
        self.n += 1
        return f"k{self.n}"

    @initialize()
    def set_up(self) -> None:
        certs = self.loop.certs
        certs.on(date(2026, 11, 2))
        payable = self.loop.payable("core", "tier1", 3_000_000, "26442000000000000001")
        certs.set_issuance_limit(obligor="core", cur="CNY", limit=10**12, actor=OPS)
        for _ in range(3):
            issued = certs.issue(obligor="core", holder="tier1", payable_ids=[payable],
                                 face=500_000 * Y, maturity=MATURITY, actor=OPS)  # fmt: skip
            certs.accept(issued.certificate.number, by="tier1", actor="tier1")
        self.numbers = [c.number for c in self.s.certificates.certificates(principal=operator())]
        for funder in FUNDERS:
            certs.grant_credit(funder=funder, obligor="core", cur="CNY", limit=LINE,
                               expires_on=date(2027, 12, 31), actor=OPS)  # fmt: skip
            certs.deposit(org=funder, cur="CNY", amount=10**10, key=f"d-{funder}", actor=OPS)
        certs.deposit(org="core", cur="CNY", amount=300_000 * Y, key="d-core", actor=OPS)
        certs.on(TODAY)
        self.s.standing.publish_base_rate(principal=operator(), currency="CNY",
                                          rate=Decimal("0.03"), key="lpr")  # fmt: skip
        self.s.standing.add_standing_request(principal=as_("tier3"), obligor="core",
                                             max_rate=Decimal("0.06"), key="st")  # fmt: skip
        # From the start: a capped standing rule and the core's cash compete with quotes.
        self.s.standing.add_rule(principal=as_("bank"), spreads={("unrated", "31-90"):
                                 Decimal("0.012")}, cap_total=300_000 * Y, key="rule")  # fmt: skip
        self.s.early_payment.offer(principal=as_("core"), cash=100_000 * Y, currency="CNY",
                                   hurdle=Decimal("0.04"), expires_on=date(2026, 12, 31),
                                   key="ep")  # fmt: skip

    def _active(self, holders: tuple[str, ...] = HOLDERS) -> list:  # type: ignore[type-arg]
        found = []
        for number in self.numbers:
            found += [f for f in self.loop.certs.fragments(number)
                      if f.status is FragmentStatus.ACTIVE and f.holder in holders]  # fmt: skip
        return found

    def _open(self) -> list:  # type: ignore[type-arg]
        return self.s.market.financing_requests(principal=operator(), status=Status.OPEN,
                                                limit=1000)  # fmt: skip

    # ------------------------------------------------------------------ rules

    @rule(pick=st.integers(0, 999), share=shares)
    def pay_a_supplier(self, pick: int, share: int) -> None:
        movable = self._active(("tier1", "tier2"))
        if movable:
            f = movable[pick % len(movable)]
            to = {"tier1": "tier2", "tier2": "tier3"}[f.holder]
            with contextlib.suppress(*REFUSED):
                self.loop.certs.transfer(sender=f.holder, fragment_id=f.id, recipient=to,
                                         amount=max(100 * Y, f.amount * share // 10),
                                         reference="contract:x", actor=f.holder)  # fmt: skip

    @rule(pick=st.integers(0, 999), share=shares, rate=rates,
          recourse=st.sampled_from([None, True, False]), take=st.booleans())  # fmt: skip
    def request(self, pick: int, share: int, rate: str, recourse: bool | None, take: bool) -> None:
        """A holder asks (and, half the time, takes at once what the standing rules and the
        core's offers give)."""
        held = self._active()
        if held:
            f = held[pick % len(held)]
            with contextlib.suppress(*REFUSED):
                made = self.s.market.request_financing(
                    principal=as_(f.holder), fragment_id=f.id,
                    amount=max(100 * Y, f.amount * share // 10), max_rate=Decimal(rate),
                    expires_on=date(2026, 12, 20), key=self.key(), recourse=recourse,
                )  # fmt: skip
                if take:
                    self.s.market.fill(made.id, principal=as_(f.holder), key=self.key())

    @rule(pick=st.integers(0, 999), funder=st.sampled_from(FUNDERS), rate=rates, share=shares,
          recourse=st.booleans(), take=st.booleans())  # fmt: skip
    def quote(
        self, pick: int, funder: str, rate: str, share: int, recourse: bool, take: bool
    ) -> None:
        """A funder quotes by hand (and, half the time, the holder takes the market)."""
        if open_ := self._open():
            r = open_[pick % len(open_)]
            with contextlib.suppress(*REFUSED):
                self.s.market.quote_request(
                    r.id, principal=as_(funder), rate=Decimal(rate),
                    amount=max(100 * Y, r.open_amount * share // 10),
                    valid_until=date(2026, 12, 15), key=self.key(), recourse=recourse,
                )  # fmt: skip
                if take:
                    self.s.market.fill(r.id, principal=as_(r.holder), key=self.key())

    @rule(pick=st.integers(0, 999))
    def fill(self, pick: int) -> None:
        if open_ := self._open():
            r = open_[pick % len(open_)]
            with contextlib.suppress(*REFUSED):
                self.s.market.fill(r.id, principal=as_(r.holder), key=self.key())

    @rule(pick=st.integers(0, 999), rate=rates, share=shares)
    def amend(self, pick: int, rate: str, share: int) -> None:
        if open_ := self._open():
            r = open_[pick % len(open_)]
            with contextlib.suppress(*REFUSED):
                wanted = max(100 * Y, r.open_amount * share // 10)
                self.s.market.amend_request(r.id, principal=as_(r.holder), key=self.key(),
                                            max_rate=Decimal(rate), amount=wanted)  # fmt: skip

    @rule(pick=st.integers(0, 999))
    def cancel(self, pick: int) -> None:
        if open_ := self._open():
            r = open_[pick % len(open_)]
            self.s.market.cancel_request(r.id, principal=as_(r.holder), key=self.key())

    @rule(funder=st.sampled_from(FUNDERS), spread=st.sampled_from(["0.005", "0.01", "0.02"]),
          cap=st.sampled_from([None, 50_000 * Y, 200_000 * Y]),
          tier_cap=st.sampled_from([None, 100_000 * Y]))  # fmt: skip
    def set_rule(self, funder: str, spread: str, cap: int | None, tier_cap: int | None) -> None:
        spreads = {("unrated", "31-90"): Decimal(spread)}
        self.s.standing.add_rule(principal=as_(funder), spreads=spreads, cap_total=cap,
                                 cap_per_tier=tier_cap, key=self.key())  # fmt: skip

    @rule(pick=st.integers(0, 999))
    def withdraw_rule(self, pick: int) -> None:
        live = [r for r in self.s.standing.rules_of(principal=operator()) if r.active]
        if live:
            r = live[pick % len(live)]
            self.s.standing.withdraw_rule(r.id, principal=as_(r.funder), key=self.key())

    @rule(cash=st.sampled_from([20_000 * Y, 150_000 * Y]), hurdle=rates)
    def early_payment(self, cash: int, hurdle: str) -> None:
        self.s.early_payment.offer(principal=as_("core"), cash=cash, currency="CNY",
                                   hurdle=Decimal(hurdle), expires_on=date(2026, 12, 31),
                                   key=self.key())  # fmt: skip

    @rule()
    def sweep(self) -> None:
        assert self.s.standing.run_standing(principal=operator()).refused == 0

    # ------------------------------------------------------------------ invariants

    @invariant()
    def nothing_is_filled_beyond_what_allows_it(self) -> None:
        if not hasattr(self, "numbers"):
            return
        ops = operator()
        m = self.s.market
        requests = m.financing_requests(principal=ops, limit=10_000)
        for r in requests:
            fills = self.db.transaction(lambda c, i=r.id: repo.fills(c, i), readonly=True)
            assert r.filled == sum(f["amount"] for f in fills) <= r.amount
            for q in m.quotes(r.id, principal=ops):
                assert 0 <= q.filled <= q.amount
            assert all(x.reproduced for x in m.replay(r.id, principal=ops))
        # A rule's caps: what its funder still holds of its fills.
        rules = self.s.standing.rules_of(principal=ops)
        usage = self.db.transaction(lambda c: rules_repo.rule_usage(c, [x.id for x in rules]),
                                    readonly=True)  # fmt: skip
        for x in rules:
            if x.cap_total is not None:
                assert usage.get(f"cap:{x.id}:total", 0) <= x.cap_total
            for tier in (1, 2, 3, 4):
                if x.cap_per_tier is not None:
                    assert usage.get(f"cap:{x.id}:tier:{tier}", 0) <= x.cap_per_tier
        for p in self.db.transaction(lambda c: repo.programmes(c, None), readonly=True):
            assert 0 <= p.used <= p.cash
        held: dict[str, int] = defaultdict(int)
        for number in self.numbers:
            cert = self.loop.certs.certificate(number)
            fragments = self.loop.certs.fragments(number)
            check_conservation(cert, fragments)
            for f in fragments:
                if f.status is FragmentStatus.ACTIVE:
                    held[f.holder] += f.amount
        for funder in FUNDERS:
            line = self.loop.certs.credit_line(funder, "core", "CNY")
            assert line.used == held[funder] <= LINE
        ledger = self.loop.ledger
        cash = sum(b.net_credit for a, b in ledger.accounts()
                   if a.unit == "CNY" and a.code in ("cash", "fees"))  # fmt: skip
        clearing = ledger.find_account(org="platform", unit="CNY", code="clearing")
        assert ledger.balance(clearing.id).net_debit == cash


@pytest.mark.slow
@pytest.mark.parametrize(
    "store", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_random_market_lives_keep_every_limit_and_replay(
    store: str, request: pytest.FixtureRequest
) -> None:
    _fresh_store[:] = [store_factory(store, request)]
    run_state_machine_as_test(
        MarketMachine,
        settings=settings(max_examples=30, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.filter_too_much]),
    )  # fmt: skip
