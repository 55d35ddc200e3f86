"""What use showed wrong, now right, on both stores: a paid recourse claim closes and an open
one is collected through the ledger; one broken certificate does not stop a settlement run;
verify finds an edited posting, a moved fragment and a rewritten audit row; limits and
currencies refuse by name."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.domain import errors
from capillary.services.books import BooksService
from tests.support.acting import as_, key, operator
from tests.support.loop import OPS, Loop, Y


@pytest.fixture
def loop(store_url: str, clock: ManualClock) -> Iterator[Loop]:
    db = Database(store_url)
    yield Loop(db, clock)
    db.dispose()


def _issued(loop: Loop, number: str, face_yuan: int = 100_000) -> tuple[str, int]:
    """A certificate of ``face_yuan`` from core to tier1, accepted; its number and root."""
    certs = loop.certs
    payable = loop.payable("core", "tier1", face_yuan, number)
    cert = certs.issue(obligor="core", holder="tier1", payable_ids=[payable],
                       face=face_yuan * Y, maturity=date(2027, 1, 29),
                       issue_date=date(2026, 11, 2), actor="core").certificate  # fmt: skip
    certs.accept(cert.number, by="tier1", actor="tier1")
    (root,) = certs.fragments(cert.number)
    return cert.number, root.id


def _setup(loop: Loop) -> None:
    certs = loop.certs
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=10_000_000 * Y, actor=OPS)
    certs.grant_credit(funder="bank", obligor="core", cur="CNY", limit=5_000_000 * Y,
                       expires_on=date(2027, 12, 31), actor=OPS)  # fmt: skip
    certs.deposit(org="bank", cur="CNY", amount=1_000_000 * Y, key="dep-bank", actor=OPS)


def _books(loop: Loop) -> BooksService:
    return BooksService(loop.ledger)


def _past_the_guards(conn: sa.Connection, db: Database, table: str) -> None:
    """What an adversary with the database's owner rights can do: write past the triggers
    that keep a table append-only."""
    if db.is_postgresql:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
    else:
        conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_append_only_update"))


def _findings(loop: Loop) -> list[str]:
    return [f.kind for f in _books(loop).reconcile(principal=operator())]


def test_a_recourse_claim_is_collected_from_the_seller_and_a_paid_one_closes(loop: Loop) -> None:
    _setup(loop)
    certs = loop.certs
    number, root = _issued(loop, "26442000000000000101")
    financed = certs.finance(fragment_id=root, seller="tier1", funder="bank", amount=40_000 * Y,
                             rate=Decimal("0.05"), recourse=True, on=date(2026, 12, 1))  # fmt: skip
    (at_bank, _change) = financed.fragments
    maturity = certs.certificate(number).maturity
    certs.settle(on=maturity + timedelta(days=1))  # the core has no cash: overdue
    (claim,) = certs.recourse_claims()
    assert (claim["claimant"], claim["debtor"], claim["status"]) == ("bank", "tier1", "open")
    assert (claim["amount"], claim["currency"]) == (40_000 * Y, "CNY")

    service = certs.service
    with pytest.raises(errors.Forbidden):  # the debtor does not collect from itself
        service.collect_recourse(claim["id"], principal=as_("tier1"), key=key())
    service.withdraw(principal=as_("tier1"), org="tier1", cur="CNY", amount=loop.cash("tier1"),
                     key=key())  # fmt: skip
    with pytest.raises(errors.InsufficientCash, match="tier1:cash:CNY"):
        service.collect_recourse(claim["id"], principal=as_("bank"), key=key())  # tier1: no cash
    certs.deposit(org="tier1", cur="CNY", amount=50_000 * Y, key="dep-tier1", actor=OPS)
    bank_before = loop.cash("bank")
    service.collect_recourse(claim["id"], principal=as_("bank"), key="collect-1")
    replay = service.collect_recourse(claim["id"], principal=as_("bank"), key="collect-1")
    assert isinstance(replay, int)
    assert loop.cash("bank") == bank_before + 40_000 * Y
    assert loop.cash("tier1") == 10_000 * Y
    (claim,) = certs.recourse_claims()
    assert claim["status"] == "collected"
    with pytest.raises(errors.ClaimNotOpen):
        service.collect_recourse(claim["id"], principal=as_("bank"), key=key())
    # The overdue fragment is tier1's again; the bank's credit is free; the books agree.
    returned = {f.id: f for f in certs.fragments(number)}[at_bank.id]
    assert (returned.holder, returned.recourse_to) == ("tier1", None)
    assert certs.credit_line("bank", "core", "CNY").used == 0
    assert _findings(loop) == []
    # The core pays late: tier1 is paid the whole face.
    certs.deposit(org="core", cur="CNY", amount=200_000 * Y, key="dep-core", actor=OPS)
    run = certs.settle(on=maturity + timedelta(days=3))
    assert run.settled == [number]
    assert _findings(loop) == []


def test_a_claim_closes_when_the_obligor_pays(loop: Loop) -> None:
    _setup(loop)
    certs = loop.certs
    number, root = _issued(loop, "26442000000000000102")
    certs.finance(fragment_id=root, seller="tier1", funder="bank", amount=100_000 * Y,
                  rate=Decimal("0.05"), recourse=True, on=date(2026, 12, 1))  # fmt: skip
    maturity = certs.certificate(number).maturity
    certs.settle(on=maturity + timedelta(days=1))
    assert [c["status"] for c in certs.recourse_claims()] == ["open"]
    certs.deposit(org="core", cur="CNY", amount=200_000 * Y, key="dep-core", actor=OPS)
    certs.settle(on=maturity + timedelta(days=2))
    assert [c["status"] for c in certs.recourse_claims()] == ["paid_by_obligor"]


def test_one_broken_certificate_does_not_stop_the_run(loop: Loop) -> None:
    _setup(loop)
    certs = loop.certs
    numbers = [_issued(loop, f"2644200000000000020{n}")[0] for n in range(3)]
    certs.deposit(org="core", cur="CNY", amount=1_000_000 * Y, key="dep-core", actor=OPS)
    broken = numbers[1]
    with loop.certs.db.engine.begin() as conn:  # an inconsistency slipped into the table
        conn.execute(sa.text(
            "UPDATE fragments SET amount = amount - 100 WHERE certificate_id = "
            "(SELECT id FROM certificates WHERE number = :n)"
        ), {"n": broken})  # fmt: skip
    assert "holdings_mismatch" in _findings(loop)
    run = certs.settle(on=certs.certificate(broken).maturity)
    assert sorted(run.settled) == sorted(n for n in numbers if n != broken)
    assert [n for n, _ in run.failed] == [broken]
    assert "certificate_inconsistent" in run.failed[0][1]
    assert "CNY" in run.failed[0][1]


def test_verify_finds_an_edited_posting_a_moved_fragment_and_a_rewritten_audit_row(
    loop: Loop,
) -> None:
    _setup(loop)
    books = _books(loop)
    _, root = _issued(loop, "26442000000000000301")
    books.seal(principal=operator())
    assert books.verify_audit(principal=operator()) == ([], 0)
    assert _findings(loop) == []
    db = loop.certs.db
    # A fragment's holder changed in the table: holdings no longer reconcile.
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE fragments SET holder = 'bank' WHERE id = :i"), {"i": root})
    assert "holdings_mismatch" in _findings(loop)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE fragments SET holder = 'tier1' WHERE id = :i"), {"i": root})
    # An audit row rewritten after sealing.
    with db.engine.begin() as conn:
        _past_the_guards(conn, db, "audit_log")
        conn.execute(sa.text("UPDATE audit_log SET actor = 'nobody' WHERE id = 1"))
    found, _ = books.verify_audit(principal=operator())
    assert [f.kind for f in found] == ["audit_changed"]
    # A posting edited before it was sealed: the next seal takes it in, but the stored
    # balances no longer equal the postings.
    certs = loop.certs
    certs.deposit(org="tier1", cur="CNY", amount=5_000 * Y, key="dep-t1", actor=OPS)
    with db.engine.begin() as conn:
        _past_the_guards(conn, db, "postings")
        conn.execute(sa.text(
            "UPDATE postings SET amount = amount + 1 WHERE transaction_id = "
            "(SELECT max(transaction_id) FROM postings)"
        ))  # fmt: skip
    books.seal(principal=operator())
    assert books.check_balances(principal=operator()) != []


def test_limits_and_currencies_refuse_by_name(loop: Loop) -> None:
    _setup(loop)
    certs = loop.certs
    service = certs.service
    _issued(loop, "26442000000000000401")
    with pytest.raises(errors.LimitBelowUsed, match=r"100,000\.00 CNY"):
        service.set_issuance_limit(principal=operator(), obligor="core", cur="CNY",
                                   limit=50_000 * Y, key=key())  # fmt: skip
    with pytest.raises(errors.UnknownCurrency):
        service.deposit(principal=operator(), org="bank", cur="xyz", amount=1, key=key())
    service.deposit(principal=operator(), org="bank", cur="cny", amount=1, key=key())
    assert service.cash("bank", "CNY", principal=operator()) == 1_000_000 * Y + 1


def test_issuing_with_no_issuance_limit_says_how_to_set_one(loop: Loop) -> None:
    payable = loop.payable("core", "tier1", 1_000, "26442000000000000402")
    loop.certs.on(date(2026, 11, 2))
    with pytest.raises(errors.NoIssuanceLimit, match="capillary credit limit core --amount"):
        loop.certs.service.issue(principal=as_("core"), obligor="core", holder="tier1",
                                 payable_ids=[payable], face=1_000 * Y,
                                 maturity=date(2027, 1, 29), key=key())  # fmt: skip


def test_a_payable_named_twice_is_refused_by_name(loop: Loop) -> None:
    _setup(loop)
    payable = loop.payable("core", "tier1", 1_000, "26442000000000000403")
    loop.certs.on(date(2026, 11, 2))
    with pytest.raises(errors.ValidationError, match="named twice"):
        loop.certs.service.issue(principal=as_("core"), obligor="core", holder="tier1",
                                 payable_ids=[payable, payable], face=1_000 * Y,
                                 maturity=date(2027, 1, 29), key=key())  # fmt: skip


def test_moving_a_fragment_one_does_not_hold_says_not_holder_first(loop: Loop) -> None:
    _setup(loop)
    _, root = _issued(loop, "26442000000000000404")
    loop.certs.on(date(2026, 11, 10))
    # The obligor sees the whole tree but holds none of it; it has no trade with the bank.
    with pytest.raises(errors.NotHolder, match="core does not hold fragment"):
        loop.certs.service.transfer(
            principal=as_("core"), fragment_id=root, recipient="bank", amount=1_000 * Y,
            reference="contract:x", key=key(),
        )  # fmt: skip
