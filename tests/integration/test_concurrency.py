"""Many processes racing on one hot account, and on one hold, on both stores."""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter

import pytest
import sqlalchemy as sa

from capillary.adapters.database import Database
from capillary.domain import errors
from capillary.domain.ledger import BalanceConstraint, credit, debit
from capillary.services.ledger import LedgerService

WORKERS = 8
KEYS = 160
AMOUNT = 7
AFFORDABLE = 120  # the hot account is funded for this many withdrawals
pytestmark = pytest.mark.slow


def _withdraw_all(url: str, hot: int, sinks: list[int], seed: int) -> Counter[str]:
    """Try every key, in this worker's own order; count what happened."""
    ledger = LedgerService(Database(url, max_attempts=200))
    order = list(range(KEYS))
    random.Random(seed).shuffle(order)
    outcome: Counter[str] = Counter()
    for i in order:
        legs = [debit(hot, AMOUNT), credit(sinks[i % len(sinks)], AMOUNT)]
        try:
            tx = ledger.post(key=f"withdraw-{i}", legs=legs)
        except errors.DebitsExceedCredits:
            outcome["refused"] += 1
        else:
            outcome["replayed" if tx.replayed else "posted"] += 1
    ledger.db.dispose()
    return outcome


def _resolve(url: str, hold: int, worker: int) -> str:
    ledger = LedgerService(Database(url, max_attempts=200))
    try:
        if worker % 2:
            ledger.void_pending(key=f"void-{worker}", pending_id=hold)
        else:
            ledger.post_pending(key=f"post-{worker}", pending_id=hold)
    except errors.PendingAlreadyResolved:
        return "already_resolved"
    finally:
        ledger.db.dispose()
    return "resolved"


def test_racing_withdrawals_end_where_serial_ones_would(ledger: LedgerService) -> None:
    store_url = ledger.db.url
    source = ledger.open_account(org="platform", unit="CNY", type="asset", code="clearing")
    hot = ledger.open_account(
        org="hot",
        unit="CNY",
        type="liability",
        code="cash",
        constraint=BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )
    sinks = [
        ledger.open_account(org=f"sink{n}", unit="CNY", type="liability", code="cash").id
        for n in range(4)
    ]
    ledger.post(
        key="fund",
        legs=[debit(source.id, AMOUNT * AFFORDABLE), credit(hot.id, AMOUNT * AFFORDABLE)],
    )

    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(WORKERS) as pool:
        outcomes = pool.starmap(
            _withdraw_all, [(store_url, hot.id, sinks, seed) for seed in range(WORKERS)]
        )
    total = sum(outcomes, Counter())

    # Serially, exactly AFFORDABLE withdrawals fit; each key posts at most once, every other
    # attempt at it is a replay or (once the money is gone) a refusal.
    assert total["posted"] == AFFORDABLE
    assert total["posted"] + total["replayed"] + total["refused"] == WORKERS * KEYS
    balance = ledger.balance(hot.id)
    assert balance.debits_posted == balance.credits_posted == AMOUNT * AFFORDABLE
    assert sum(ledger.balance(s).credits_posted for s in sinks) == AMOUNT * AFFORDABLE
    with ledger.db.engine.connect() as conn:
        (keys,) = conn.execute(
            sa.text("SELECT count(*) FROM transactions WHERE idempotency_key LIKE :prefix"),
            {"prefix": "withdraw-%"},
        ).one()
    assert keys == AFFORDABLE
    assert ledger.check_balances() == []
    ledger.seal()
    assert ledger.verify().ok


def test_a_hold_raced_by_many_resolves_exactly_once(ledger: LedgerService) -> None:
    store_url = ledger.db.url
    a = ledger.open_account(org="a", unit="CNY", type="asset", code="cash")
    b = ledger.open_account(org="b", unit="CNY", type="asset", code="cash")
    hold = ledger.hold(key="hold", legs=[debit(a.id, 500), credit(b.id, 500)])
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(WORKERS) as pool:
        results = pool.starmap(_resolve, [(store_url, hold.id, w) for w in range(WORKERS)])
    assert Counter(results) == {"resolved": 1, "already_resolved": WORKERS - 1}
    balance = ledger.balance(a.id)
    assert balance.debits_pending == 0
    assert balance.debits_posted in (0, 500)
    assert ledger.check_balances() == []
