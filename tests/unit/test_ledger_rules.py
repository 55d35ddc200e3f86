"""The ledger's rules, without storage."""

import pytest

from capillary.domain import errors
from capillary.domain.ledger import (
    AccountState,
    BalanceBook,
    BalanceConstraint,
    Leg,
    Side,
    Transaction,
    TransactionKind,
    credit,
    debit,
    make_request,
    partial_post_legs,
    reversal_legs,
    same_request,
)
from capillary.domain.units import MAX_AMOUNT

NO_OVERDRAFT = BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS
NO_OVERCREDIT = BalanceConstraint.CREDITS_MUST_NOT_EXCEED_DEBITS


def state(
    unit: str = "CNY",
    constraint: BalanceConstraint = BalanceConstraint.NONE,
    dp: int = 0,
    cp: int = 0,
    dn: int = 0,
    cn: int = 0,
) -> AccountState:
    return AccountState(unit, constraint, dp, cp, dn, cn)


def book(**accounts: AccountState) -> BalanceBook:
    return BalanceBook({int(name.removeprefix("a")): s for name, s in accounts.items()})


# -------------------------------------------------------------- request shape


def test_a_request_needs_two_legs() -> None:
    with pytest.raises(errors.TooFewLegs):
        make_request(key="k", legs=[debit(1, 5)])


@pytest.mark.parametrize("amount", [0, -5, 1.5, True, MAX_AMOUNT + 1])
def test_leg_amounts_are_positive_integers(amount: object) -> None:
    with pytest.raises(errors.InvalidAmount):
        make_request(key="k", legs=[Leg(1, Side.DEBIT, amount), credit(2, 5)])  # type: ignore[arg-type]


def test_an_account_is_not_debited_and_credited_in_one_transaction() -> None:
    with pytest.raises(errors.AccountOnBothSides):
        make_request(key="k", legs=[debit(1, 5), credit(1, 5)])


def test_a_side_must_be_a_side() -> None:
    request = make_request(key="k", legs=[(1, "D", 5), (2, "C", 5)])  # type: ignore[list-item]
    assert request.legs == (debit(1, 5), credit(2, 5))
    with pytest.raises(errors.ValidationError, match="side 'D' or 'C'"):
        make_request(key="k", legs=[(1, "X", 5), (2, "C", 5)])  # type: ignore[list-item]


@pytest.mark.parametrize("key", ["", "x" * 129, 7, None])
def test_idempotency_keys_are_short_non_empty_strings(key: object) -> None:
    with pytest.raises(errors.InvalidIdempotencyKey):
        make_request(key=key, legs=[debit(1, 5), credit(2, 5)])  # type: ignore[arg-type]


def test_only_a_hold_has_a_timeout_and_it_is_bounded() -> None:
    with pytest.raises(errors.InvalidTimeout):
        make_request(key="k", legs=[debit(1, 5), credit(2, 5)], timeout_seconds=5)
    for bad in (0, -1, 400 * 86400):
        with pytest.raises(errors.InvalidTimeout):
            make_request(
                key="k", legs=[debit(1, 5), credit(2, 5)], pending=True, timeout_seconds=bad
            )


def test_metadata_is_stored_as_canonical_json() -> None:
    a = make_request(key="k", legs=[debit(1, 5), credit(2, 5)], metadata={"b": 1, "a": "x"})
    b = make_request(key="k", legs=[debit(1, 5), credit(2, 5)], metadata={"a": "x", "b": 1})
    assert a.metadata == b.metadata == '{"a":"x","b":1}'
    with pytest.raises(errors.ValidationError):
        make_request(key="k", legs=[debit(1, 5), credit(2, 5)], metadata={"x": object()})


# -------------------------------------------------------------- balance and constraints


def test_debits_must_equal_credits_in_every_unit() -> None:
    b = book(a1=state("CNY"), a2=state("CNY"), a3=state("USD"), a4=state("USD"))
    b.check_balanced([debit(1, 5), credit(2, 5), debit(3, 7), credit(4, 7)])
    with pytest.raises(errors.UnbalancedTransaction, match=r"CNY differ by 0\.02 CNY"):
        b.check_balanced([debit(1, 5), credit(2, 3)])
    # Balanced in total but not per unit.
    with pytest.raises(errors.UnbalancedTransaction):
        b.check_balanced([debit(1, 5), credit(3, 5)])


def test_a_leg_on_an_unknown_account_is_refused() -> None:
    with pytest.raises(errors.AccountNotFound):
        book(a1=state()).check_balanced([debit(1, 5), credit(9, 5)])


def test_a_no_overdraft_account_cannot_be_debited_beyond_its_credits() -> None:
    b = book(a1=state(constraint=NO_OVERDRAFT, cp=100), a2=state())
    b.apply(post=[debit(1, 100), credit(2, 100)])
    with pytest.raises(errors.DebitsExceedCredits, match=r"0\.00 CNY available, 0\.01 CNY"):
        b.apply(post=[debit(1, 1), credit(2, 1)])


def test_the_mirror_constraint_limits_credits() -> None:
    b = book(a1=state(), a2=state(constraint=NO_OVERCREDIT, dp=50))
    with pytest.raises(errors.CreditsExceedDebits):
        b.apply(post=[debit(1, 51), credit(2, 51)])
    b.apply(post=[debit(1, 50), credit(2, 50)])


def test_held_amounts_count_against_the_constraint_until_released() -> None:
    b = book(a1=state(constraint=NO_OVERDRAFT, cp=100), a2=state())
    b.apply(hold=[debit(1, 80), credit(2, 80)])
    with pytest.raises(errors.DebitsExceedCredits):
        b.apply(post=[debit(1, 21), credit(2, 21)])
    b.apply(release=[debit(1, 80), credit(2, 80)])
    b.apply(post=[debit(1, 100), credit(2, 100)])
    assert b.accounts[1].as_balance().available_credit == 0


def test_receiving_money_is_never_refused_by_the_payers_constraint() -> None:
    # An overdrawn-by-hold account may still be credited.
    b = book(a1=state(constraint=NO_OVERDRAFT, cp=10, dn=10), a2=state())
    b.apply(post=[debit(2, 5), credit(1, 5)])
    assert b.accounts[1].credits_posted == 15


def test_a_balance_may_not_overflow_int64() -> None:
    b = book(a1=state(), a2=state(cp=MAX_AMOUNT))
    with pytest.raises(errors.BalanceOverflow):
        b.apply(post=[debit(1, 1), credit(2, 1)])


def test_a_refused_transaction_leaves_the_book_as_it_was() -> None:
    b = book(a1=state(), a2=state(constraint=NO_OVERDRAFT, cp=10), a3=state())
    with pytest.raises(errors.DebitsExceedCredits):
        # The first account's change is fine, the second's is not: neither is kept.
        b.apply(post=[debit(2, 11), credit(1, 11)])
    assert b.deltas() == {}
    b.apply(post=[debit(3, 4), credit(1, 4)])
    assert b.deltas() == {3: (4, 0, 0, 0), 1: (0, 4, 0, 0)}


# -------------------------------------------------------------- holds, reversals, replays


def pending_tx(*legs: Leg) -> Transaction:
    return Transaction(id=7, key="h", kind=TransactionKind.PENDING, posted_at=0, legs=legs)


def test_a_hold_posts_in_full_or_in_part_but_never_more() -> None:
    hold = pending_tx(debit(1, 100), credit(2, 100))
    assert partial_post_legs(hold, None) == hold.legs
    assert partial_post_legs(hold, [60, 60]) == (debit(1, 60), credit(2, 60))
    for amounts in ([101, 101], [60], [-1, -1], [0, 0], [1.5, 1.5]):
        with pytest.raises(errors.InvalidPostAmounts):
            partial_post_legs(hold, amounts)  # type: ignore[arg-type]


def test_a_reversal_swaps_every_side() -> None:
    legs = (debit(1, 5), credit(2, 3), credit(3, 2))
    assert reversal_legs(legs) == (credit(1, 5), debit(2, 3), debit(3, 2))
    assert reversal_legs(reversal_legs(legs)) == legs


def test_a_replay_is_recognised_only_when_every_field_matches() -> None:
    request = make_request(key="k", legs=[debit(1, 5), credit(2, 5)], ref="inv-1")
    stored = Transaction(
        id=1, key="k", kind=TransactionKind.POSTED, posted_at=0, legs=request.legs, ref="inv-1"
    )
    assert same_request(request, stored)
    for other in (
        make_request(key="k", legs=[debit(1, 6), credit(2, 6)], ref="inv-1"),
        make_request(key="k", legs=[debit(1, 5), credit(2, 5)], ref="inv-2"),
        make_request(key="k", legs=[debit(1, 5), credit(2, 5)], ref="inv-1", pending=True),
        make_request(key="k", legs=[debit(1, 5), credit(2, 5)], ref="inv-1", metadata={"a": 1}),
    ):
        assert not same_request(other, stored)
