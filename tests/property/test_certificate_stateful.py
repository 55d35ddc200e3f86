"""Random lives of certificates, on both stores, with the loop's invariants after every step:
active fragments sum to the face and descend from the root; ledger holdings in each
certificate's unit equal the fragments held; cash is conserved (every cash account and the
fees together equal the platform's clearing account); each funder's credit used equals the
face it holds; every balance equals its postings."""

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
    precondition,
    rule,
    run_state_machine_as_test,
)

from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.domain import errors
from capillary.domain.certificates import CertificateStatus, FragmentStatus, check_conservation
from tests.support.loop import OPS, Loop, Y
from tests.support.stores import store_factory

SUPPLIES = {"tier1": "tier2", "tier2": "tier3"}  # who each holder can pay
FUNDERS = ("bank", "bank2")
ISSUE_ON = date(2026, 11, 2)
TRADE_ON = date(2026, 12, 1)
MATURITY = date(2027, 3, 1)  # a Monday, a business day

# Refusals a random step may meet; anything else is a bug.
TRANSFER_REFUSALS = (errors.BelowMinimumFragment, errors.MaturityReached, errors.FragmentNotActive)
FINANCE_REFUSALS = (*TRANSFER_REFUSALS, errors.CreditLineExceeded, errors.InsufficientCash)

_fresh_store: list[Callable[[], str]] = []
amounts = st.integers(min_value=1, max_value=400_000).map(lambda yuan: yuan * Y)


class CertificateMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.db = Database(_fresh_store[0]())
        self.loop = Loop(self.db, ManualClock())
        self.certs = self.loop.certs
        self.numbers: list[str] = []
        self.accepted = 0
        self.settled = False

    def teardown(self) -> None:
        self.db.dispose()

    @initialize()
    def set_up(self) -> None:
        self.payable = self.loop.payable("core", "tier1", 50_000_000, "26442000000000000001")
        self.certs.set_issuance_limit(obligor="core", cur="CNY", limit=6_000_000 * Y, actor=OPS)
        for funder in FUNDERS:
            self.certs.grant_credit(
                funder=funder,
                obligor="core",
                cur="CNY",
                limit=1_500_000 * Y,
                expires_on=date(2027, 12, 31),
                actor=OPS,
            )
            self.certs.deposit(
                org=funder, cur="CNY", amount=3_000_000 * Y, key=f"dep-{funder}", actor=OPS
            )

    # ------------------------------------------------------------------ rules

    @rule(face=st.integers(1_000, 2_000_000).map(lambda y: y * Y), accept=st.integers(0, 4))
    def issue(self, face: int, accept: int) -> None:
        """Issue, then (four times in five) accept, else cancel."""
        try:
            done = self.certs.issue(
                obligor="core",
                holder="tier1",
                payable_ids=[self.payable],
                face=face,
                maturity=MATURITY,
                issue_date=ISSUE_ON,
                actor=OPS,
            )
        except (errors.IssuanceLimitExceeded, errors.OverPayable):
            return
        number = done.certificate.number
        self.numbers.append(number)
        if accept:
            self.certs.accept(number, by="tier1", actor="tier1")
            self.accepted += 1
        else:
            self.certs.cancel(number, actor="core", reason="random")

    def _active(self) -> list:  # type: ignore[type-arg]
        out = []
        for number in self.numbers:
            out += [f for f in self.certs.fragments(number) if f.status is FragmentStatus.ACTIVE]
        return out

    @precondition(lambda self: self.accepted > 0)
    @rule(pick=st.integers(0, 10_000), amount=amounts)
    def transfer(self, pick: int, amount: int) -> None:
        movable = [f for f in self._active() if f.holder in SUPPLIES]
        if not movable:
            return
        f = movable[pick % len(movable)]
        with contextlib.suppress(
            errors.BelowMinimumFragment, errors.MaturityReached, errors.FragmentNotActive
        ):
            self.certs.transfer(
                fragment_id=f.id,
                sender=f.holder,
                recipient=SUPPLIES[f.holder],
                amount=min(amount, f.amount),
                reference="contract:random",
                on=TRADE_ON,
                actor=f.holder,
            )

    @precondition(lambda self: self.accepted > 0)
    @rule(
        pick=st.integers(0, 10_000),
        amount=amounts,
        funder=st.sampled_from(FUNDERS),
        recourse=st.booleans(),
        rate=st.sampled_from(["0.03", "0.045", "0.06"]),
    )
    def finance(self, pick: int, amount: int, funder: str, recourse: bool, rate: str) -> None:
        sellable = [f for f in self._active() if f.holder != funder]
        if not sellable:
            return
        # Half the time a funder sells on what it holds: the path that moves credit between
        # funders.
        held_by_funders = [f for f in sellable if f.holder in FUNDERS]
        pool = held_by_funders if held_by_funders and pick % 2 else sellable
        f = pool[pick % len(pool)]
        with contextlib.suppress(
            errors.BelowMinimumFragment,
            errors.CreditLineExceeded,
            errors.InsufficientCash,
            errors.MaturityReached,
            errors.FragmentNotActive,
        ):
            self.certs.finance(
                fragment_id=f.id,
                seller=f.holder,
                funder=funder,
                amount=min(amount, f.amount),
                rate=Decimal(rate),
                on=TRADE_ON,
                actor=f.holder,
                recourse=recourse,
            )

    @rule(amount=st.integers(0, 6_000_000).map(lambda y: y * Y))
    def core_deposits(self, amount: int) -> None:
        if amount:
            self.certs.deposit(
                org="core",
                cur="CNY",
                amount=amount,
                key=f"core-{len(self.numbers)}-{amount}-{self.settled}",
                actor=OPS,
            )

    @precondition(lambda self: self.accepted > 0)
    @rule(days_late=st.sampled_from([0, 0, 3]))
    def settle(self, days_late: int) -> None:
        self.certs.settle(on=MATURITY.fromordinal(MATURITY.toordinal() + days_late), actor=OPS)
        self.settled = True

    # ------------------------------------------------------------------ invariants

    @invariant()
    def the_loop_holds(self) -> None:
        if not hasattr(self, "payable"):
            return
        ledger = self.loop.ledger
        held_by_funder: dict[str, int] = defaultdict(int)
        for number in self.numbers:
            cert = self.certs.certificate(number)
            fragments = self.certs.fragments(number)
            if cert.status is CertificateStatus.ACTIVE:
                check_conservation(cert, fragments)
            live = defaultdict(int)
            for f in fragments:
                if f.status in (FragmentStatus.ACTIVE, FragmentStatus.OVERDUE):
                    live[f.holder] += f.amount
                    if f.holder in FUNDERS:
                        held_by_funder[f.holder] += f.amount
            for account, balance in ledger.accounts():
                if account.unit != cert.unit:
                    continue
                if account.code == "held":
                    assert balance.net_debit == live.get(account.org, 0), (number, account.org)
                elif cert.status in (CertificateStatus.ACTIVE, CertificateStatus.OVERDUE):
                    assert balance.net_credit == cert.face
                else:
                    assert balance.net_credit == 0
        cash = sum(
            b.net_credit
            for a, b in ledger.accounts()
            if a.unit == "CNY" and a.code in ("cash", "fees")
        )
        clearing = ledger.find_account(org="platform", unit="CNY", code="clearing")
        assert ledger.balance(clearing.id).net_debit == cash
        for funder in FUNDERS:
            assert self.certs.credit_line(funder, "core", "CNY").used == held_by_funder[funder]
        assert ledger.check_balances() == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "store", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_random_certificate_lives_keep_the_loops_invariants(
    store: str, request: pytest.FixtureRequest
) -> None:
    _fresh_store[:] = [store_factory(store, request)]
    run_state_machine_as_test(
        CertificateMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
