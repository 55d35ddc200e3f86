"""Random sequences of ledger operations against an independent model, on both stores.

The model keeps its own four counters per account and its own arithmetic for the balance
constraints, so it judges every acceptance and every refusal of the real ledger. After each
step: each unit's debits equal its credits, every materialized balance equals its postings,
no constraint is broken, and the hash chain verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.domain import errors
from capillary.domain.ledger import Balance, BalanceConstraint, Leg, Side, make_request
from capillary.services.ledger import LedgerService
from tests.support.stores import store_factory

NONE = BalanceConstraint.NONE
NO_OVERDRAFT = BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS
NO_OVERCREDIT = BalanceConstraint.CREDITS_MUST_NOT_EXCEED_DEBITS
ACCOUNTS = [NONE, NO_OVERDRAFT, NO_OVERDRAFT, NO_OVERDRAFT, NO_OVERCREDIT]

amounts = st.integers(min_value=1, max_value=2_000)
account_index = st.integers(min_value=0, max_value=len(ACCOUNTS) - 1)


@dataclass
class Model:
    constraints: dict[int, BalanceConstraint]
    counters: dict[int, list[int]] = field(default_factory=dict)

    def balance(self, account: int) -> Balance:
        return Balance(*self.counters.setdefault(account, [0, 0, 0, 0]))

    def allows(self, post: list[Leg], hold: list[Leg], release: list[Leg]) -> bool:
        new = {a: list(c) for a, c in self.counters.items()}
        added_dr: dict[int, int] = {}
        added_cr: dict[int, int] = {}
        for legs, base, sign in ((post, 0, 1), (hold, 2, 1), (release, 2, -1)):
            for account, side, amount in legs:
                c = new.setdefault(account, [0, 0, 0, 0])
                c[base + (0 if side is Side.DEBIT else 1)] += sign * amount
                if sign > 0:
                    target = added_dr if side is Side.DEBIT else added_cr
                    target[account] = target.get(account, 0) + amount
        for account, (dp, cp, dn, cn) in new.items():
            rule = self.constraints[account]
            if rule is NO_OVERDRAFT and added_dr.get(account) and dp + dn > cp:
                return False
            if rule is NO_OVERCREDIT and added_cr.get(account) and cp + cn > dp:
                return False
        return True

    def apply(self, post: list[Leg], hold: list[Leg], release: list[Leg]) -> None:
        for legs, base, sign in ((post, 0, 1), (hold, 2, 1), (release, 2, -1)):
            for account, side, amount in legs:
                c = self.counters.setdefault(account, [0, 0, 0, 0])
                c[base + (0 if side is Side.DEBIT else 1)] += sign * amount


@dataclass(frozen=True)
class Sent:
    key: str
    legs: tuple[Leg, ...]
    pending: bool
    tx_id: int


Factory = Callable[[], str]
_fresh_store: list[Factory] = []


class LedgerMachine(RuleBasedStateMachine):
    posted = Bundle("posted")
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.ledger = LedgerService(Database(_fresh_store[0]()), clock=self.clock)
        self.counter = 0
        self.expires: dict[int, int | None] = {}
        self.resolved: set[int] = set()
        self.reversed: set[int] = set()

    def teardown(self) -> None:
        self.ledger.db.dispose()

    def _key(self) -> str:
        self.counter += 1
        return f"k{self.counter}"

    @initialize()
    def open_accounts(self) -> None:
        ids = [
            self.ledger.open_account(
                org=f"org{i}", unit="CNY", type="asset", code="cash", constraint=rule
            ).id
            for i, rule in enumerate(ACCOUNTS)
        ]
        self.ids = ids
        self.model = Model(dict(zip(ids, ACCOUNTS, strict=True)))
        # Fund the no-overdraft accounts from the unconstrained one, and give the
        # no-overcredit account debits to be credited against.
        for target in ids[1:4]:
            self._post([Leg(target, Side.CREDIT, 3_000), Leg(ids[0], Side.DEBIT, 3_000)])
        self._post([Leg(ids[4], Side.DEBIT, 3_000), Leg(ids[0], Side.CREDIT, 3_000)])

    # ------------------------------------------------------------------ helpers

    def _legs(self, src: int, dst: int, amount: int) -> list[Leg]:
        return [Leg(self.ids[src], Side.DEBIT, amount), Leg(self.ids[dst], Side.CREDIT, amount)]

    def _post(self, legs: list[Leg]) -> Sent | None:
        key = self._key()
        allowed = self.model.allows(legs, [], [])
        try:
            tx = self.ledger.post(key=key, legs=legs)
        except (errors.DebitsExceedCredits, errors.CreditsExceedDebits):
            assert not allowed, f"refused although the model allows {legs}"
            return None
        assert allowed, f"posted although the model forbids {legs}"
        self.model.apply(legs, [], [])
        return Sent(key, tuple(legs), False, tx.id)

    # ------------------------------------------------------------------ rules

    @rule(target=posted, src=account_index, dst=account_index, amount=amounts)
    def transfer(self, src: int, dst: int, amount: int) -> object:
        if src == dst:
            return multiple()
        sent = self._post(self._legs(src, dst, amount))
        return multiple() if sent is None else sent

    @rule(
        target=holds,
        src=account_index,
        dst=account_index,
        amount=amounts,
        timeout=st.none() | st.integers(1, 120),
    )
    def hold(self, src: int, dst: int, amount: int, timeout: int | None) -> object:
        if src == dst:
            return multiple()
        legs = self._legs(src, dst, amount)
        allowed = self.model.allows([], legs, [])
        key = self._key()
        try:
            tx = self.ledger.hold(key=key, legs=legs, timeout_seconds=timeout)
        except (errors.DebitsExceedCredits, errors.CreditsExceedDebits):
            assert not allowed
            return multiple()
        assert allowed
        self.model.apply([], legs, [])
        self.expires[tx.id] = None if timeout is None else self.clock.now_us() + timeout * 10**6
        return Sent(key, tuple(legs), True, tx.id)

    def _live(self, hold: Sent) -> bool:
        expires = self.expires[hold.tx_id]
        return hold.tx_id not in self.resolved and (
            expires is None or self.clock.now_us() < expires
        )

    @rule(hold=consumes(holds), fraction=st.sampled_from([None, 1, 2, 3]))
    def post_hold(self, hold: Sent, fraction: int | None) -> None:
        held = hold.legs[0].amount
        part = None if fraction is None else max(1, held * fraction // 4)
        amounts_ = None if part is None else [part, part]
        posted = list(hold.legs) if part is None else [Leg(a, s, part) for a, s, _ in hold.legs]
        live = self._live(hold)
        try:
            self.ledger.post_pending(key=self._key(), pending_id=hold.tx_id, amounts=amounts_)
        except (errors.PendingExpired, errors.PendingAlreadyResolved):
            assert not live
            return
        assert live
        self.resolved.add(hold.tx_id)
        self.model.apply(posted, [], list(hold.legs))

    @rule(hold=consumes(holds))
    def void_hold(self, hold: Sent) -> None:
        live = self._live(hold)
        try:
            self.ledger.void_pending(key=self._key(), pending_id=hold.tx_id)
        except (errors.PendingExpired, errors.PendingAlreadyResolved):
            assert not live
            return
        assert live
        self.resolved.add(hold.tx_id)
        self.model.apply([], [], list(hold.legs))

    @rule(seconds=st.integers(1, 90))
    def time_passes_and_holds_expire(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)
        now = self.clock.now_us()
        due = [
            tx
            for tx, at in self.expires.items()
            if at is not None and at <= now and tx not in self.resolved
        ]
        assert self.ledger.expire_holds() == len(due)
        for tx in due:
            self.resolved.add(tx)
            legs = list(self.ledger.transaction(tx).legs)
            self.model.apply([], [], legs)

    @rule(sent=posted)
    def replay(self, sent: Sent) -> None:
        before = self.ledger.unit_totals()
        again = self.ledger.post(key=sent.key, legs=sent.legs)
        assert again.replayed
        assert again.id == sent.tx_id
        assert self.ledger.unit_totals() == before

    @rule(sent=posted, extra=amounts)
    def reuse_a_key_for_another_request(self, sent: Sent, extra: int) -> None:
        legs = [Leg(a, s, amount + extra) for a, s, amount in sent.legs]
        try:
            self.ledger.post(key=sent.key, legs=legs)
        except errors.IdempotencyConflict:
            return
        raise AssertionError("a changed request under a used key was accepted")

    @rule(sent=consumes(posted))
    def reverse(self, sent: Sent) -> None:
        legs = [Leg(a, s.opposite, amount) for a, s, amount in sent.legs]
        allowed = self.model.allows(legs, [], [])
        try:
            self.ledger.reverse(key=self._key(), transaction_id=sent.tx_id)
        except (errors.DebitsExceedCredits, errors.CreditsExceedDebits):
            assert not allowed
            return
        assert allowed
        self.model.apply(legs, [], [])

    @rule(
        moves=st.lists(st.tuples(account_index, account_index, amounts), min_size=1, max_size=8),
        atomic=st.booleans(),
    )
    def batch(self, moves: list[tuple[int, int, int]], atomic: bool) -> None:
        requests = [
            make_request(key=self._key(), legs=self._legs(s, d, a)) for s, d, a in moves if s != d
        ]
        if not requests:
            return
        # What the model says each item does, in order.
        trial = Model(self.model.constraints, {k: list(v) for k, v in self.model.counters.items()})
        verdicts = []
        for r in requests:
            ok = trial.allows(list(r.legs), [], [])
            verdicts.append(ok)
            if ok:
                trial.apply(list(r.legs), [], [])
        refused = [i for i, ok in enumerate(verdicts) if not ok]
        if atomic and refused:
            with pytest.raises(errors.BatchRejected) as rejected:
                self.ledger.submit(requests, atomic=True)
            assert [e.index for e in rejected.value.errors] == refused
            return
        result = self.ledger.submit(requests, atomic=atomic)
        assert [e.index for e in result.errors] == refused
        self.model = trial

    # ------------------------------------------------------------------ invariants

    @invariant()
    def debits_equal_credits_in_every_unit(self) -> None:
        if hasattr(self, "model"):
            for debits, credits in self.ledger.unit_totals().values():
                assert debits == credits

    @invariant()
    def balances_are_their_postings_and_the_models(self) -> None:
        if not hasattr(self, "model"):
            return
        assert self.ledger.check_balances() == []
        for account, _ in enumerate(ACCOUNTS):
            account_id = self.ids[account]
            assert self.ledger.balance(account_id) == self.model.balance(account_id)

    @invariant()
    def no_constraint_is_broken(self) -> None:
        if not hasattr(self, "model"):
            return
        for account, balance in self.ledger.accounts():
            if account.constraint is NO_OVERDRAFT:
                assert balance.debits_posted + balance.debits_pending <= balance.credits_posted
            if account.constraint is NO_OVERCREDIT:
                assert balance.credits_posted + balance.credits_pending <= balance.debits_posted

    @invariant()
    def the_journal_verifies(self) -> None:
        self.ledger.seal()
        report = self.ledger.verify()
        assert report.ok, report.findings
        assert report.unsealed == 0


@pytest.mark.parametrize(
    "store", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_random_ledger_histories_keep_every_invariant(
    store: str, request: pytest.FixtureRequest
) -> None:
    _fresh_store[:] = [store_factory(store, request)]
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
