"""The closed loop, as issue 4 tells it: the core issues 1,000,000.00 CNY to tier-1; tier-1
pays tier-2 300,000.00; tier-2 pays tier-3 50,000.00; tier-3 finances it at 4.5% for 90 days;
the funder sells it on; maturity settles everyone. Every balance checked to the fen."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest

from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.domain import errors
from capillary.domain.certificates import CertificateStatus, FragmentStatus
from tests.support.loop import OPS, Loop, Y


@pytest.fixture
def loop(store_url: str, clock: ManualClock) -> Iterator[Loop]:
    db = Database(store_url)
    yield Loop(db, clock)
    db.dispose()


def test_the_closed_loop_to_the_fen(loop: Loop) -> None:
    certs = loop.certs
    core_payable = loop.payable("core", "tier1", 1_200_000, "26442000000000000001")
    loop.payable(
        "tier1", "tier2", 300_000, "26442000000000000002"
    )  # the trade behind tier-1's payment
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=5_000_000 * Y, actor=OPS)
    for funder in ("bank", "bank2"):
        certs.grant_credit(
            funder=funder,
            obligor="core",
            cur="CNY",
            limit=2_000_000 * Y,
            expires_on=date(2027, 12, 31),
            actor=OPS,
        )
        certs.deposit(org=funder, cur="CNY", amount=100_000 * Y, key=f"dep-{funder}", actor=OPS)

    # The core issues 1,000,000.00 to tier-1; the maturity rolls to a business day.
    issued = certs.issue(
        obligor="core",
        holder="tier1",
        payable_ids=[core_payable],
        face=1_000_000 * Y,
        maturity=date(2027, 1, 31),
        issue_date=date(2026, 11, 2),
        actor="core:treasury",
    )
    number = issued.certificate.number
    maturity = issued.certificate.maturity
    assert maturity == certs.calendar().roll_forward(date(2027, 1, 31))
    assert loop.trade.payable(core_payable).open_amount == 200_000 * Y
    with pytest.raises(errors.CertificateNotFound):  # tier-2 is no party to it yet
        certs.accept(number, by="tier2", actor="tier2")
    assert certs.accept(number, by="tier1", actor="tier1:cfo").status is CertificateStatus.ACTIVE
    (root_fragment,) = certs.fragments(number)

    # tier-1 pays tier-2 300,000.00, naming tier-2's invoice.
    to_tier2, _tier1_change = certs.transfer(
        fragment_id=root_fragment.id,
        sender="tier1",
        recipient="tier2",
        amount=300_000 * Y,
        reference="26442000000000000002",
        on=date(2026, 11, 10),
        actor="tier1",
    )
    # tier-2 pays tier-3 50,000.00 under a contract.
    to_tier3, _tier2_change = certs.transfer(
        fragment_id=to_tier2.id,
        sender="tier2",
        recipient="tier3",
        amount=50_000 * Y,
        reference="contract:FA-2026-88",
        on=date(2026, 11, 12),
        actor="tier2",
    )
    # tier-3 finances at 4.5% for 90 days: 5,000,000 × 0.045 × 90 / 360 = 56,250 fen discount.
    financed = certs.finance(
        fragment_id=to_tier3.id,
        seller="tier3",
        funder="bank",
        amount=50_000 * Y,
        rate=Decimal("0.045"),
        on=maturity - timedelta(days=90),
        actor="tier3",
    )
    assert (financed.quote.days, financed.quote.discount, financed.quote.price) == (
        90,
        56_250,
        4_943_750,
    )
    assert loop.cash("tier3") == 4_943_750
    # The financing records the one ledger transaction that moved fragment and cash.
    with loop.certs.db.engine.connect() as conn:
        (tx_id,) = conn.exec_driver_sql("SELECT ledger_tx FROM financings").one()
    moved = loop.ledger.transaction(tx_id)
    assert moved.ref is not None
    assert "financing" in moved.ref
    assert len(moved.legs) == 4  # fragment seller -> funder, cash funder -> seller
    # The bank sells it on at 4.0% with 60 days left: 5,000,000 × 0.04 × 60 / 360 = 33,333.33… fen.
    (at_bank,) = financed.fragments
    sold_on = certs.finance(
        fragment_id=at_bank.id,
        seller="bank",
        funder="bank2",
        amount=50_000 * Y,
        rate=Decimal("0.04"),
        on=maturity - timedelta(days=60),
        actor="bank",
    )
    assert sold_on.quote.price == 4_966_667
    (at_bank2,) = sold_on.fragments
    assert [f.holder for f in certs.lineage(at_bank2.id)] == [
        "tier1",
        "tier2",
        "tier3",
        "bank",
        "bank2",
    ]
    assert at_bank2.tier == 5
    assert certs.credit_line("bank", "core", "CNY").used == 0
    assert certs.credit_line("bank2", "core", "CNY").used == 50_000 * Y

    # Conservation, mid-life: active fragments sum to the face, and so do ledger holdings.
    active = [f for f in certs.fragments(number) if f.status is FragmentStatus.ACTIVE]
    assert sorted((f.holder, f.amount) for f in active) == [
        ("bank2", 50_000 * Y),
        ("tier1", 700_000 * Y),
        ("tier2", 250_000 * Y),
    ]
    unit = issued.certificate.unit
    for holder, amount in (("bank2", 50_000 * Y), ("tier1", 700_000 * Y), ("tier2", 250_000 * Y)):
        held = loop.ledger.find_account(org=holder, unit=unit, code="held")
        assert loop.ledger.balance(held.id).net_debit == amount

    # Maturity: the core has not funded yet -- nothing is paid; due today, not yet overdue.
    run = certs.settle(on=maturity, actor=OPS)
    assert (run.unpaid, run.overdue) == ([number], [])
    assert certs.certificate(number).status is CertificateStatus.ACTIVE
    # The day after, its maturity has passed unpaid: overdue.
    run = certs.settle(on=maturity + timedelta(days=1), actor=OPS)
    assert run.overdue == [number]
    assert certs.certificate(number).status is CertificateStatus.OVERDUE
    assert loop.cash("tier1") == 0
    # The core pays in what it owes, and the next run settles everyone, penalty interest for
    # the days late included (18% a year, ACT/360).
    certs.deposit(org="core", cur="CNY", amount=1_010_000 * Y, key="dep-core", actor=OPS)
    run = certs.settle(on=maturity + timedelta(days=2), actor=OPS)
    assert run.settled == [number]
    # Penalty: 18% a year × 2 days / 360 = 0.1% of each holder's amount.
    penalty = {
        h: a // 1000
        for h, a in (("tier1", 700_000 * Y), ("tier2", 250_000 * Y), ("bank2", 50_000 * Y))
    }
    assert loop.cash("tier1") == 700_000 * Y + penalty["tier1"]
    assert loop.cash("tier2") == 250_000 * Y + penalty["tier2"]
    assert loop.cash("tier3") == 4_943_750
    assert loop.cash("bank") == 100_000 * Y - 4_943_750 + 4_966_667
    assert loop.cash("bank2") == 100_000 * Y - 4_966_667 + 50_000 * Y + penalty["bank2"]
    assert loop.cash("core") == 1_010_000 * Y - 1_000_000 * Y - sum(penalty.values())
    assert certs.certificate(number).status is CertificateStatus.SETTLED
    assert {f.status for f in certs.fragments(number)} == {
        FragmentStatus.SPENT,
        FragmentStatus.SETTLED,
    }
    assert certs.credit_line("bank2", "core", "CNY").used == 0
    # Cash is conserved: every cash account together equals the clearing account.
    clearing = loop.ledger.find_account(org="platform", unit="CNY", code="clearing")
    owed = sum(b.net_credit for a, b in loop.ledger.accounts() if a.code == "cash")
    assert loop.ledger.balance(clearing.id).net_debit == owed == 1_210_000 * Y
    # The certificate unit is retired: every holding and the issued liability back to zero.
    for account, balance in loop.ledger.accounts():
        if account.unit == unit:
            assert balance.net_debit == 0
    assert loop.ledger.check_balances() == []
    loop.ledger.seal()
    assert loop.ledger.verify().ok


def test_a_pending_certificate_is_cancelled_and_gives_back_what_it_took(loop: Loop) -> None:
    certs = loop.certs
    payable = loop.payable("core", "tier1", 150_000, "26442000000000000009")
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=100_000 * Y, actor=OPS)
    issued = certs.issue(
        obligor="core",
        holder="tier1",
        payable_ids=[payable],
        face=100_000 * Y,
        maturity=date(2027, 3, 1),
        issue_date=date(2026, 11, 2),
        actor="core",
    )
    with pytest.raises(errors.IssuanceLimitExceeded):
        certs.issue(
            obligor="core",
            holder="tier1",
            payable_ids=[payable],
            face=1,
            maturity=date(2027, 3, 1),
            issue_date=date(2026, 11, 2),
            actor="core",
        )
    cancelled = certs.cancel(issued.certificate.number, actor="core", reason="wrong amount")
    assert cancelled.status is CertificateStatus.CANCELLED
    assert loop.trade.payable(payable).open_amount == 150_000 * Y
    with pytest.raises(errors.CertificateNotPending):
        certs.accept(issued.certificate.number, by="tier1", actor="tier1")
    again = certs.issue(
        obligor="core",
        holder="tier1",
        payable_ids=[payable],
        face=100_000 * Y,
        maturity=date(2027, 3, 1),
        issue_date=date(2026, 11, 3),
        actor="core",
    )
    assert again.certificate.status is CertificateStatus.PENDING


def test_refusals_are_named(loop: Loop) -> None:
    certs = loop.certs
    payable = loop.payable("core", "tier1", 500_000, "26442000000000000010")
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=10_000_000 * Y, actor=OPS)
    with pytest.raises(errors.OverPayable):
        certs.issue(
            obligor="core",
            holder="tier1",
            payable_ids=[payable],
            face=500_001 * Y,
            maturity=date(2027, 3, 1),
            issue_date=date(2026, 11, 2),
            actor="core",
        )
    with pytest.raises(errors.MaturityTooLate):
        certs.issue(
            obligor="core",
            holder="tier1",
            payable_ids=[payable],
            face=1_000 * Y,
            maturity=date(2027, 12, 1),
            issue_date=date(2026, 11, 2),
            actor="core",
        )
    number = certs.issue(
        obligor="core",
        holder="tier1",
        payable_ids=[payable],
        face=400_000 * Y,
        maturity=date(2027, 3, 1),
        issue_date=date(2026, 11, 2),
        actor="core",
    ).certificate.number
    certs.accept(number, by="tier1", actor="tier1")
    (r,) = certs.fragments(number)
    move = dict(
        fragment_id=r.id,
        sender="tier1",
        recipient="tier2",
        amount=10_000 * Y,
        reference="contract:x",
        on=date(2026, 11, 10),
        actor="tier1",
    )
    with pytest.raises(errors.NoRelationship):
        certs.transfer(**{**move, "recipient": "tier3"})  # type: ignore[arg-type]
    with pytest.raises(errors.NoTradeReference):
        certs.transfer(**{**move, "reference": "26442000000000009999"})  # type: ignore[arg-type]
    with pytest.raises(errors.FragmentNotFound):  # tier-2 is no party to tier-1's fragment
        certs.transfer(**{**move, "sender": "tier2", "recipient": "tier3"})  # type: ignore[arg-type]
    with pytest.raises(errors.BelowMinimumFragment):
        certs.transfer(**{**move, "amount": 50 * Y})  # type: ignore[arg-type]
    with pytest.raises(errors.MaturityReached):
        certs.transfer(**{**move, "on": date(2027, 3, 1)})  # type: ignore[arg-type]
    certs.transfer(**move)  # type: ignore[arg-type]
    with pytest.raises(errors.FragmentNotActive):  # the root was spent by that transfer
        certs.transfer(**move)  # type: ignore[arg-type]
    (change,) = [
        f
        for f in certs.fragments(number)
        if f.holder == "tier1" and f.status is FragmentStatus.ACTIVE
    ]
    with pytest.raises(errors.CreditLineNotFound):
        certs.finance(
            fragment_id=change.id,
            seller="tier1",
            funder="bank",
            amount=10_000 * Y,
            rate=Decimal("0.05"),
            on=date(2026, 12, 1),
            actor="tier1",
        )
    certs.grant_credit(
        funder="bank",
        obligor="core",
        cur="CNY",
        limit=20_000 * Y,
        expires_on=date(2027, 12, 31),
        actor=OPS,
    )
    with pytest.raises(errors.CreditLineExceeded):
        certs.finance(
            fragment_id=change.id,
            seller="tier1",
            funder="bank",
            amount=30_000 * Y,
            rate=Decimal("0.05"),
            on=date(2026, 12, 1),
            actor="tier1",
        )
    with pytest.raises(errors.InsufficientCash):  # the bank has no cash on the platform yet
        certs.finance(
            fragment_id=change.id,
            seller="tier1",
            funder="bank",
            amount=10_000 * Y,
            rate=Decimal("0.05"),
            on=date(2026, 12, 1),
            actor="tier1",
        )
    # Nothing moved on any refusal.
    assert certs.credit_line("bank", "core", "CNY").used == 0
    assert loop.ledger.check_balances() == []


def test_the_obligor_pays_early_at_a_discount(loop: Loop) -> None:
    certs = loop.certs
    payable = loop.payable("core", "tier1", 200_000, "26442000000000000011")
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=1_000_000 * Y, actor=OPS)
    number = certs.issue(
        obligor="core", holder="tier1", payable_ids=[payable], face=200_000 * Y,
        maturity=date(2027, 3, 1), issue_date=date(2026, 11, 2), actor="core",
    ).certificate.number  # fmt: skip
    certs.accept(number, by="tier1", actor="tier1")
    (r,) = certs.fragments(number)
    certs.transfer(fragment_id=r.id, sender="tier1", recipient="tier2", amount=80_000 * Y,
                   reference="contract:early", on=date(2026, 11, 10), actor="tier1")  # fmt: skip
    certs.deposit(org="core", cur="CNY", amount=200_000 * Y, key="dep-core", actor=OPS)
    on = date(2027, 1, 30)  # 30 days before maturity
    paid = certs.pay_early(number, rate=Decimal("0.03"), on=on, actor="core:treasury")
    # 120,000.00 × 3% × 30/360 = 300.00 off; 80,000.00 × 3% × 30/360 = 200.00 off.
    assert loop.cash("tier1") == 120_000 * Y - 300 * Y
    assert loop.cash("tier2") == 80_000 * Y - 200 * Y
    assert paid == 199_500 * Y
    assert loop.cash("core") == 500 * Y
    assert certs.certificate(number).status is CertificateStatus.SETTLED
    with pytest.raises(errors.FragmentNotActive):
        certs.pay_early(number, rate=Decimal("0.03"), on=on, actor="core:treasury")
    assert loop.ledger.check_balances() == []


def test_moves_go_in_batches_all_or_nothing(loop: Loop) -> None:
    from capillary.services.moves import Move

    certs = loop.certs
    payable = loop.payable("core", "tier1", 600_000, "26442000000000000012")
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=10_000_000 * Y, actor=OPS)
    certs.grant_credit(
        funder="bank",
        obligor="core",
        cur="CNY",
        limit=10_000_000 * Y,
        expires_on=date(2027, 12, 31),
        actor=OPS,
    )
    certs.deposit(org="bank", cur="CNY", amount=1_000_000 * Y, key="dep-bank", actor=OPS)
    roots = []
    for _ in range(3):
        number = certs.issue(
            obligor="core",
            holder="tier1",
            payable_ids=[payable],
            face=200_000 * Y,
            maturity=date(2027, 3, 1),
            issue_date=date(2026, 11, 2),
            actor="core",
        ).certificate.number
        certs.accept(number, by="tier1", actor="tier1")
        roots.append(certs.fragments(number)[0].id)
    certs.on(date(2026, 12, 1))
    pay = [Move(r, "tier1", "tier2", 10_000 * Y, reference="contract:batch") for r in roots]
    # One bad move (below the minimum fragment) refuses the whole batch.
    bad = [*pay[:2], Move(roots[2], "tier1", "tier2", 1, reference="contract:batch")]
    with pytest.raises(errors.BelowMinimumFragment):
        certs.move(bad, actor="tier1")
    assert all(len(certs.fragments(n.number)) == 1 for n in certs.certificates(org="core"))
    moved = certs.move(pay, actor="tier1")
    assert [m.fragments[0].holder for m in moved] == ["tier2"] * 3
    assert len({m.posting for m in moved}) == 3  # one ledger transaction each
    change = [m.fragments[1].id for m in moved]
    financed = certs.move(
        [Move(f, "tier1", "bank", 100_000 * Y, rate=Decimal("0.05")) for f in change],
        actor="tier1",
    )
    assert all(m.quote is not None for m in financed)
    assert certs.credit_line("bank", "core", "CNY").used == 300_000 * Y
    assert loop.ledger.check_balances() == []


def test_issues_in_a_batch_share_payables_and_the_limit(loop: Loop) -> None:
    from capillary.services.certificates import IssueRequest

    certs = loop.certs
    payable = loop.payable("core", "tier1", 300_000, "26442000000000000013")
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=250_000 * Y, actor=OPS)

    def request(face_yuan: int) -> IssueRequest:
        return IssueRequest("core", "tier1", (payable,), face_yuan * Y, date(2027, 3, 1))

    certs.on(date(2026, 11, 2))

    with pytest.raises(errors.IssuanceLimitExceeded):  # 100k + 100k + 100k > 250k
        certs.issue_many([request(100_000)] * 3, actor="core")
    assert loop.trade.payable(payable).open_amount == 300_000 * Y  # nothing taken
    issued = certs.issue_many([request(100_000), request(150_000)], actor="core")
    assert [i.certificate.face for i in issued] == [100_000 * Y, 150_000 * Y]
    assert loop.trade.payable(payable).open_amount == 50_000 * Y
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=1_000_000 * Y, actor=OPS)
    with pytest.raises(errors.OverPayable):  # 30k + 30k > the 50k still open
        certs.issue_many([request(30_000), request(30_000)], actor="core")
    assert [a["action"] for a in loop.trade.audit("payable", str(payable))][-2:] == [
        "reduced",
        "reduced",
    ]


def test_the_face_is_in_the_currency_asked_for(loop: Loop) -> None:
    """`cert issue --currency KWD --amount 100` once issued 1,000.00 CNY against a CNY
    payable: a face in another currency than its payables is refused, and nothing issued."""
    certs = loop.certs
    payable = loop.payable("core", "tier1", 300_000, "26442000000000000021")
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=1_000_000 * Y)
    with pytest.raises(errors.ValidationError, match="is in CNY, not KWD"):
        certs.issue(obligor="core", holder="tier1", payable_ids=[payable], face=100_000,
                    maturity=date(2027, 3, 1), issue_date=date(2026, 11, 2),
                    currency="KWD")  # fmt: skip
    assert certs.certificates(org="core") == []
    done = certs.issue(obligor="core", holder="tier1", payable_ids=[payable], face=100 * Y,
                       maturity=date(2027, 3, 1), issue_date=date(2026, 11, 2),
                       currency="CNY")  # fmt: skip
    assert done.certificate.currency == "CNY"
