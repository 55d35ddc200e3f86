"""The ledger's use cases on SQLite and PostgreSQL, through the real migrations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from capillary.adapters.clock import ManualClock, from_us
from capillary.domain import errors
from capillary.domain.ledger import (
    Balance,
    BalanceConstraint,
    TransactionKind,
    credit,
    debit,
    make_request,
)
from capillary.domain.units import instrument
from capillary.services.ledger import LedgerService
from tests.support.scenario import open_books

# ---------------------------------------------------------------- units and accounts


def test_a_currency_is_registered_on_first_use(ledger: LedgerService) -> None:
    account = ledger.open_account(org="acme", unit="JPY", type="asset", code="cash")
    assert account.unit == "JPY"
    assert ledger.unit("JPY").exponent == 0
    with pytest.raises(errors.UnitNotFound):
        ledger.open_account(org="acme", unit="ZZZ", type="asset", code="cash")
    with pytest.raises(errors.UnitNotFound):
        ledger.open_account(org="acme", unit="jpy", type="asset", code="cash")


def test_an_instrument_is_registered_once_before_use(ledger: LedgerService) -> None:
    cert = instrument("CERT-000001", exponent=2, name="payable certificate")
    ledger.register_unit(cert)
    with pytest.raises(errors.UnitExists):
        ledger.register_unit(cert)
    holding = ledger.open_account(org="tier1", unit="CERT-000001", type="asset", code="held")
    assert ledger.account(holding.id).unit == "CERT-000001"


def test_an_account_is_unique_per_org_unit_and_code(ledger: LedgerService) -> None:
    first = ledger.open_account(
        org="acme", unit="CNY", type="asset", code="cash", metadata={"x": 1}
    )
    with pytest.raises(errors.AccountExists):
        ledger.open_account(org="acme", unit="CNY", type="asset", code="cash")
    assert ledger.open_account(org="acme", unit="USD", type="asset", code="cash").id != first.id
    assert ledger.ensure_account(org="acme", unit="CNY", type="asset", code="cash") == first
    assert first.metadata == '{"x":1}'
    with pytest.raises(errors.AccountNotFound):
        ledger.account(999)
    with pytest.raises(errors.AccountNotFound):
        ledger.find_account(org="nobody", unit="CNY", code="cash")
    with pytest.raises(errors.ValidationError):
        ledger.open_account(org="", unit="CNY", type="asset", code="cash")


# ---------------------------------------------------------------- posting


def test_posting_moves_balances_and_refuses_what_breaks_a_rule(ledger: LedgerService) -> None:
    books = open_books(ledger, "core", "tier1")
    books.deposit("core", 1_000_00)
    books.pay("core", "tier1", 300_00, key="p1")
    assert ledger.balance(books.cash["core"].id) == Balance(300_00, 1_000_00, 0, 0)
    assert ledger.balance(books.cash["tier1"].id) == Balance(0, 300_00, 0, 0)
    assert ledger.balance(books.clearing.id) == Balance(1_000_00, 0, 0, 0)
    with pytest.raises(errors.DebitsExceedCredits):
        books.pay("tier1", "core", 300_01, key="p2")
    with pytest.raises(errors.UnbalancedTransaction):
        ledger.post(key="p3", legs=[debit(books.cash["core"].id, 5), credit(books.clearing.id, 4)])
    with pytest.raises(errors.AccountNotFound):
        ledger.post(key="p4", legs=[debit(books.cash["core"].id, 5), credit(12345, 5)])
    # Refusals posted nothing.
    assert ledger.unit_totals() == {"CNY": (1_300_00, 1_300_00)}


def test_legs_in_two_units_must_balance_in_each(ledger: LedgerService) -> None:
    cny_a = ledger.open_account(org="a", unit="CNY", type="asset", code="cash").id
    cny_b = ledger.open_account(org="b", unit="CNY", type="asset", code="cash").id
    usd_a = ledger.open_account(org="a", unit="USD", type="asset", code="cash").id
    usd_b = ledger.open_account(org="b", unit="USD", type="asset", code="cash").id
    fx = ledger.post(
        key="fx",
        legs=[debit(cny_a, 720), credit(cny_b, 720), debit(usd_b, 100), credit(usd_a, 100)],
    )
    assert len(fx.legs) == 4
    with pytest.raises(errors.UnbalancedTransaction):
        ledger.post(key="fx2", legs=[debit(cny_a, 100), credit(usd_a, 100)])


def test_the_same_key_replays_and_a_different_request_under_it_conflicts(
    ledger: LedgerService,
) -> None:
    books = open_books(ledger, "core", "tier1")
    books.deposit("core", 500)
    legs = [debit(books.cash["core"].id, 200), credit(books.cash["tier1"].id, 200)]
    first = ledger.post(key="pay-1", legs=legs, ref="inv-1", metadata={"po": "77"})
    again = ledger.post(key="pay-1", legs=legs, ref="inv-1", metadata={"po": "77"})
    assert (again.id, again.replayed, first.replayed) == (first.id, True, False)
    assert ledger.balance(books.cash["core"].id).debits_posted == 200
    with pytest.raises(errors.IdempotencyConflict):
        ledger.post(key="pay-1", legs=legs, ref="inv-2")
    with pytest.raises(errors.IdempotencyConflict):
        ledger.hold(key="pay-1", legs=legs)


# ---------------------------------------------------------------- batches


def test_a_request_built_by_hand_meets_the_same_rules(ledger: LedgerService) -> None:
    from capillary.domain.ledger import Leg, Side, TransactionRequest

    books = open_books(ledger, "core", "tier1")
    core, tier1 = books.cash["core"].id, books.cash["tier1"].id
    legs = (Leg(core, Side.DEBIT, 1), Leg(tier1, Side.CREDIT, 1))
    bad = [
        TransactionRequest(key="t1", legs=legs, timeout_seconds=5),  # not a hold
        TransactionRequest(key="t2", legs=legs, pending=True, timeout_seconds=0),
        TransactionRequest(key="t3", legs=(Leg(core, Side.DEBIT, 1),)),
        TransactionRequest(key="", legs=legs),
    ]
    result = ledger.submit(bad, atomic=False)
    assert [e.code for e in result.errors] == [
        "invalid_timeout",
        "invalid_timeout",
        "too_few_legs",
        "invalid_idempotency_key",
    ]


def test_an_atomic_batch_posts_everything_or_nothing(ledger: LedgerService) -> None:
    books = open_books(ledger, "core", "tier1")
    books.deposit("core", 1_000)
    core, tier1 = books.cash["core"].id, books.cash["tier1"].id
    good = [
        make_request(key=f"b{i}", legs=[debit(core, 100), credit(tier1, 100)]) for i in range(5)
    ]
    bad = [
        make_request(key="b5", legs=[debit(core, 600), credit(tier1, 600)]),  # 100 too many
        make_request(key="b6", legs=[debit(tier1, 1), credit(99, 1)]),
    ]
    with pytest.raises(errors.BatchRejected) as rejected:
        ledger.submit([*good, *bad])
    assert [(e.index, e.code) for e in rejected.value.errors] == [
        (5, "debits_exceed_credits"),
        (6, "account_not_found"),
    ]
    assert ledger.balance(core).debits_posted == 0
    result = ledger.submit(good)
    assert result.posted == 5
    assert all(result.ids)
    assert ledger.balance(core).available_credit == 500


def test_a_non_atomic_batch_reports_each_item(ledger: LedgerService) -> None:
    books = open_books(ledger, "core", "tier1")
    books.deposit("core", 250)
    core, tier1 = books.cash["core"].id, books.cash["tier1"].id
    requests = [
        make_request(key=f"n{i}", legs=[debit(core, 100), credit(tier1, 100)]) for i in range(3)
    ]
    requests.append(requests[0])  # the same request twice in one batch: a replay
    requests.append(make_request(key="n0", legs=[debit(core, 1), credit(tier1, 1)]))
    result = ledger.submit(requests, atomic=False)
    assert [e.index for e in result.errors] == [2, 4]
    assert [e.code for e in result.errors] == ["debits_exceed_credits", "idempotency_conflict"]
    assert result.ids[0] == result.ids[3]
    assert result.ids[2] is None
    assert result.replayed == {3}
    assert result.posted == 2
    # Replaying the whole batch posts nothing new and returns the same ids.
    replay = ledger.submit(requests[:2], atomic=False)
    assert replay.ids == result.ids[:2]
    assert replay.replayed == {0, 1}
    assert ledger.balance(core).debits_posted == 200


# ---------------------------------------------------------------- holds


def test_a_hold_reserves_then_posts_in_part_and_releases_the_rest(ledger: LedgerService) -> None:
    books = open_books(ledger, "core", "tier1")
    books.deposit("core", 1_000)
    core, tier1 = books.cash["core"].id, books.cash["tier1"].id
    hold = ledger.hold(key="h", legs=[debit(core, 800), credit(tier1, 800)], timeout_seconds=60)
    assert hold.kind is TransactionKind.PENDING
    assert hold.timeout_seconds == 60
    assert ledger.balance(core) == Balance(0, 1_000, 800, 0)
    with pytest.raises(errors.DebitsExceedCredits):
        books.pay("core", "tier1", 201, key="too-much")
    posted = ledger.post_pending(key="hp", pending_id=hold.id, amounts=[500, 500])
    assert posted.pending_id == hold.id
    assert ledger.balance(core) == Balance(500, 1_000, 0, 0)
    assert ledger.balance(tier1) == Balance(0, 500, 0, 0)
    again = ledger.post_pending(key="hp", pending_id=hold.id, amounts=[500, 500])
    assert again.replayed
    assert again.id == posted.id
    with pytest.raises(errors.IdempotencyConflict):
        ledger.post_pending(key="hp", pending_id=hold.id)
    with pytest.raises(errors.PendingAlreadyResolved):
        ledger.void_pending(key="hv", pending_id=hold.id)
    with pytest.raises(errors.NotReversible):
        ledger.reverse(key="r", transaction_id=hold.id)


def test_a_hold_is_voided_or_expires_and_resolves_once(
    ledger: LedgerService, clock: ManualClock
) -> None:
    books = open_books(ledger, "core", "tier1")
    books.deposit("core", 1_000)
    core, tier1 = books.cash["core"].id, books.cash["tier1"].id
    voided = ledger.hold(key="h1", legs=[debit(core, 300), credit(tier1, 300)])
    ledger.void_pending(key="v1", pending_id=voided.id)
    assert ledger.balance(core) == Balance(0, 1_000, 0, 0)
    with pytest.raises(errors.PendingAlreadyResolved):
        ledger.post_pending(key="p1", pending_id=voided.id)

    expiring = ledger.hold(
        key="h2", legs=[debit(core, 400), credit(tier1, 400)], timeout_seconds=30
    )
    clock.advance(seconds=29)
    assert ledger.expire_holds() == 0
    clock.advance(seconds=1)
    with pytest.raises(errors.PendingExpired):
        ledger.post_pending(key="p2", pending_id=expiring.id)
    assert ledger.balance(core).debits_pending == 400  # released by the sweep, not before
    assert ledger.expire_holds() == 1
    assert ledger.expire_holds() == 0
    assert ledger.balance(core) == Balance(0, 1_000, 0, 0)
    with pytest.raises(errors.PendingAlreadyResolved):
        ledger.void_pending(key="v2", pending_id=expiring.id)
    with pytest.raises(errors.PendingNotFound):
        ledger.void_pending(key="v3", pending_id=99_999)
    deposit = ledger.history(core)[-1].transaction_id
    with pytest.raises(errors.PendingNotFound):
        ledger.void_pending(key="v4", pending_id=deposit)
    with pytest.raises(errors.InvalidPostAmounts):
        ledger.post_pending(key="p5", pending_id=voided.id, amounts=[1])


# ---------------------------------------------------------------- reversals


def test_a_reversal_undoes_a_posting_once_and_is_refused_when_money_is_gone(
    ledger: LedgerService,
) -> None:
    books = open_books(ledger, "core", "tier1", "tier2")
    books.deposit("core", 1_000)
    paid = books.pay("core", "tier1", 600, key="pay")
    reversal = ledger.reverse(key="undo", transaction_id=paid, ref="paid in error")
    assert reversal.reverses_id == paid
    assert reversal.kind is TransactionKind.REVERSAL
    assert ledger.balance(books.cash["tier1"].id).net_credit == 0
    assert ledger.reverse(key="undo", transaction_id=paid, ref="paid in error").replayed
    with pytest.raises(errors.AlreadyReversed):
        ledger.reverse(key="undo-again", transaction_id=paid)
    with pytest.raises(errors.NotReversible):
        ledger.reverse(key="undo-undo", transaction_id=reversal.id)
    with pytest.raises(errors.TransactionNotFound):
        ledger.reverse(key="x", transaction_id=4242)
    # Once tier1 has passed the money on, reversing its receipt would overdraw it.
    second = books.pay("core", "tier1", 300, key="pay-2")
    books.pay("tier1", "tier2", 300, key="pass-on")
    with pytest.raises(errors.DebitsExceedCredits):
        ledger.reverse(key="undo-2", transaction_id=second)


# ---------------------------------------------------------------- reading


def test_balances_as_of_a_past_moment(ledger: LedgerService, clock: ManualClock) -> None:
    books = open_books(ledger, "core", "tier1")
    core = books.cash["core"].id
    books.deposit("core", 1_000)
    t1 = clock.now_us()
    clock.advance(seconds=10)
    hold = ledger.hold(key="h", legs=[debit(core, 100), credit(books.cash["tier1"].id, 100)])
    t2 = clock.now_us()
    clock.advance(seconds=10)
    ledger.post_pending(key="p", pending_id=hold.id)
    clock.advance(seconds=10)
    assert ledger.balance_at(core, t1 - 1) == Balance()
    assert ledger.balance_at(core, t1) == Balance(0, 1_000, 0, 0)
    assert ledger.balance_at(core, t2) == Balance(0, 1_000, 100, 0)
    assert ledger.balance_at(core, from_us(clock.now_us())) == ledger.balance(core)
    assert ledger.balance_at(core, datetime(2020, 1, 1, tzinfo=UTC)) == Balance()
    with pytest.raises(errors.AccountNotFound):
        ledger.balance_at(777, t1)


def test_history_pages_newest_first(ledger: LedgerService) -> None:
    books = open_books(ledger, "core", "tier1")
    books.deposit("core", 1_000)
    for i in range(5):
        books.pay("core", "tier1", 10 + i, key=f"h{i}")
    lines = ledger.history(books.cash["core"].id, limit=3)
    assert [line.amount for line in lines] == [14, 13, 12]
    older = ledger.history(books.cash["core"].id, limit=10, before_id=lines[-1].transaction_id)
    assert [line.amount for line in older] == [11, 10, 1_000]
    with pytest.raises(errors.ValidationError):
        ledger.history(books.cash["core"].id, limit=0)


def test_balances_recomputed_from_postings_match_and_a_forged_one_is_reported(
    ledger: LedgerService,
) -> None:
    books = open_books(ledger, "core", "tier1")
    books.deposit("core", 1_000)
    hold = ledger.hold(
        key="h", legs=[debit(books.cash["core"].id, 50), credit(books.cash["tier1"].id, 50)]
    )
    ledger.post_pending(key="p", pending_id=hold.id, amounts=[20, 20])
    ledger.hold(key="h2", legs=[debit(books.cash["core"].id, 5), credit(books.cash["tier1"].id, 5)])
    assert ledger.check_balances() == []
    with ledger.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE accounts SET credits_posted = credits_posted + 1 "
            f"WHERE id = {books.clearing.id}"
        )
    (mismatch,) = ledger.check_balances()
    assert mismatch.account_id == books.clearing.id
    assert mismatch.stored.credits_posted == mismatch.recomputed.credits_posted + 1


def test_accounts_list_with_balances(ledger: LedgerService) -> None:
    books = open_books(ledger, "core", "tier1")
    books.deposit("core", 42)
    listed = {a.org: b for a, b in ledger.accounts()}
    assert listed["core"].net_credit == 42
    assert [a.org for a, _ in ledger.accounts(org="tier1")] == ["tier1"]


def test_a_constraint_is_also_enforced_by_the_database(ledger: LedgerService) -> None:
    import sqlalchemy as sa

    account = ledger.open_account(
        org="core", unit="CNY", type="liability", code="cash",
        constraint=BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )  # fmt: skip
    with pytest.raises(sa.exc.IntegrityError), ledger.db.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE accounts SET debits_posted = 1 WHERE id = {account.id}")
