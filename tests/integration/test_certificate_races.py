"""Many processes race for one thing at once: one fragment moved, one key written; exactly
one succeeds and the others lose cleanly."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from capillary.adapters.clock import ManualClock, start_of
from capillary.adapters.database import Database
from capillary.domain import errors
from capillary.domain.certificates import FragmentStatus
from capillary.services.closed_loop import loop_services
from capillary.services.ledger import LedgerService
from tests.support.acting import AnyLoop, as_, operator
from tests.support.loop import OPS, Loop, Y

WORKERS = 8
pytestmark = pytest.mark.slow


def _move(url: str, fragment_id: int, worker: int, offer: int | None) -> str:
    db = Database(url, max_attempts=200)
    clock = ManualClock(start_of(date(2026, 12, 1)))
    certs = AnyLoop(loop_services(db, LedgerService(db, clock=clock), clock=clock))
    try:
        if offer is not None:  # the bank takes tier-1's offer
            certs.accept_financing(offer, principal=as_("bank"), key=f"w{worker}")
        else:
            certs.transfer(principal=as_("tier1"), fragment_id=fragment_id, recipient="tier2",
                           amount=(100_000 + worker) * Y, reference="contract:race",
                           key=f"w{worker}")  # fmt: skip
    except errors.FragmentNotActive:
        return "fragment_not_active"
    except errors.CapillaryError as exc:
        return exc.code
    finally:
        db.dispose()
    return "moved"


def test_one_fragment_raced_by_many_moves_once(store_url: str) -> None:
    db = Database(store_url)
    loop = Loop(db, ManualClock())
    certs = loop.certs
    payable = loop.payable("core", "tier1", 1_000_000, "26442000000000000001")
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=5_000_000 * Y, actor=OPS)
    certs.grant_credit(funder="bank", obligor="core", cur="CNY", limit=5_000_000 * Y,
                       expires_on=date(2027, 12, 31), actor=OPS)  # fmt: skip
    certs.deposit(org="bank", cur="CNY", amount=5_000_000 * Y, key="dep", actor=OPS)
    number = certs.issue(obligor="core", holder="tier1", payable_ids=[payable],
                         face=1_000_000 * Y, maturity=date(2027, 3, 1),
                         issue_date=date(2026, 11, 2), actor=OPS).certificate.number  # fmt: skip
    certs.accept(number, by="tier1", actor="tier1")
    (root,) = certs.fragments(number)

    certs.on(date(2026, 12, 1))
    offers = {
        w: certs.service.offer_financing(
            principal=as_("tier1"),
            fragment_id=root.id,
            funder="bank",
            amount=(100_000 + w) * Y,
            rate=Decimal("0.05"),
            key=f"offer-{w}",
        ).id
        for w in range(1, WORKERS, 2)
    }
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(WORKERS) as pool:
        results = pool.starmap(
            _move, [(store_url, root.id, w, offers.get(w)) for w in range(WORKERS)]
        )
    assert Counter(results) == {"moved": 1, "fragment_not_active": WORKERS - 1}

    fragments = certs.fragments(number)
    active = [f for f in fragments if f.status is FragmentStatus.ACTIVE]
    assert sum(f.amount for f in active) == 1_000_000 * Y
    assert len(active) == 2
    assert loop.ledger.check_balances() == []
    line = certs.credit_line("bank", "core", "CNY")
    bank_holds = sum(f.amount for f in active if f.holder == "bank")
    assert line.used == bank_holds
    db.dispose()


def _deposit(url: str, worker: int) -> str:
    db = Database(url, max_attempts=200)
    certs = AnyLoop(loop_services(db, LedgerService(db)))
    try:
        tx = certs.deposit(principal=operator(), org="tier1", cur="CNY", amount=7 * Y,
                           key="same-wire")  # fmt: skip
    finally:
        db.dispose()
    return str(tx)


def test_one_key_raced_by_many_writers_writes_once(store_url: str) -> None:
    """Eight processes retry the same request with the same key at once: one deposit, and
    every one of them answers with its transaction."""
    db = Database(store_url)
    loop = Loop(db, ManualClock())
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(WORKERS) as pool:
        results = pool.starmap(_deposit, [(store_url, w) for w in range(WORKERS)])
    assert len(set(results)) == 1
    assert loop.cash("tier1") == 7 * Y
    with db.engine.connect() as conn:
        recorded = "SELECT count(*) FROM idempotency WHERE key = 'same-wire'"
        assert conn.exec_driver_sql(recorded).scalar_one() == 1
    db.dispose()
