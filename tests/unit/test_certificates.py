"""Certificate rules: issue, split and transfer, settlement, credit, by hand."""

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from capillary.domain import errors
from capillary.domain.calendar import BusinessCalendar
from capillary.domain.certificates import (
    Certificate,
    CertificateStatus,
    FragmentStatus,
    Rules,
    check_conservation,
    children,
    early_payouts,
    maturity_payouts,
    penalty_interest,
    plan_issue,
    plan_split,
    root,
)
from capillary.domain.credit import CreditLine, IssuanceLimit, draw, issue_within, release
from capillary.domain.payables import Payable, PayableStatus
from capillary.domain.pricing import DayCount

RULES = Rules(min_fragment=100_00)
CAL = BusinessCalendar()
YUAN = 100


def payable(pid: int, open_amount: int, due: date = date(2027, 1, 31)) -> Payable:
    return Payable(pid, pid, "core", "tier1", "CNY", open_amount, open_amount, due,
                   PayableStatus.OPEN, None)  # fmt: skip


def cert(**kw: object) -> Certificate:
    base = Certificate(1, "C1", "core", "tier1", "CNY", 1_000_000 * YUAN, date(2026, 11, 2),
                       date(2027, 1, 29), CertificateStatus.ACTIVE)  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def issue(**kw: object):  # type: ignore[no-untyped-def]
    args = dict(obligor="core", holder="tier1", face=1_000_000 * YUAN, currency="CNY",
                issue_date=date(2026, 11, 2), maturity=date(2027, 1, 29),
                payables=[payable(1, 600_000 * YUAN), payable(2, 500_000 * YUAN)],
                calendar=CAL, rules=RULES)  # fmt: skip
    args.update(kw)
    return plan_issue(**args)  # type: ignore[arg-type]


def test_an_issue_is_backed_by_open_payables_oldest_due_first() -> None:
    plan = issue(payables=[payable(1, 600_000 * YUAN, date(2027, 2, 1)),
                           payable(2, 500_000 * YUAN, date(2027, 1, 1))])  # fmt: skip
    assert plan.allocations == ((2, 500_000 * YUAN), (1, 500_000 * YUAN))
    assert plan.warnings == ()
    with pytest.raises(errors.OverPayable):
        issue(face=1_100_000 * YUAN + 1)
    with pytest.raises(errors.ValidationError, match="owed by"):
        issue(holder="tier2")
    with pytest.raises(errors.ValidationError):
        issue(payables=[])


def test_maturity_rolls_to_a_business_day_and_stays_within_a_year() -> None:
    plan = issue(issue_date=date(2026, 6, 1), maturity=date(2026, 10, 3))  # Golden Week
    assert plan.maturity == date(2026, 10, 8)
    assert any(w.startswith("rolled") for w in plan.warnings)
    long = issue(issue_date=date(2026, 1, 5), maturity=date(2026, 9, 1))
    assert any(w.startswith("long_tenor") for w in long.warnings)
    with pytest.raises(errors.MaturityTooLate):
        issue(issue_date=date(2026, 1, 5), maturity=date(2027, 1, 6))
    with pytest.raises(errors.ValidationError):
        issue(maturity=date(2026, 11, 2))


def test_a_transfer_splits_and_the_sender_keeps_the_change() -> None:
    c = cert()
    r = root(c, 1)
    split = plan_split(c, r, sender="tier1", recipient="tier2", amount=300_000 * YUAN,
                       on=date(2026, 11, 10), rules=RULES)  # fmt: skip
    made = children(split, first_id=2)
    assert [(f.holder, f.amount, f.tier, f.path) for f in made] == [
        ("tier2", 300_000 * YUAN, 2, "1/2"),
        ("tier1", 700_000 * YUAN, 1, "1/3"),
    ]
    check_conservation(c, [replace(r, status=FragmentStatus.SPENT), *made])
    whole = children(plan_split(c, made[0], sender="tier2", recipient="tier3",
                                amount=300_000 * YUAN, on=date(2026, 11, 10), rules=RULES),
                     first_id=4)  # fmt: skip
    assert [(f.holder, f.tier, f.path) for f in whole] == [("tier3", 3, "1/2/4")]


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        (dict(sender="tier2"), errors.NotHolder),
        (dict(recipient="tier1"), errors.TransferToSelf),
        (dict(amount=99_99), errors.BelowMinimumFragment),
        (dict(amount=1_000_000 * YUAN - 99_99), errors.BelowMinimumFragment),  # change too small
        (dict(amount=1_000_000 * YUAN + 1), errors.ExceedsFragment),
        (dict(on=date(2027, 1, 29)), errors.MaturityReached),
        (dict(amount=0), errors.InvalidAmount),
    ],
)
def test_every_refused_transfer_is_named(kw: dict[str, object], error: type) -> None:
    args: dict[str, object] = dict(sender="tier1", recipient="tier2", amount=100_000 * YUAN,
                                   on=date(2026, 11, 10), rules=RULES)  # fmt: skip
    args.update(kw)
    with pytest.raises(error):
        plan_split(cert(), root(cert(), 1), **args)  # type: ignore[arg-type]


def test_only_active_fragments_of_active_certificates_move() -> None:
    for c, f in (
        (cert(status=CertificateStatus.PENDING), root(cert(), 1)),
        (cert(), replace(root(cert(), 1), status=FragmentStatus.FROZEN)),
        (cert(), replace(root(cert(), 1), status=FragmentStatus.OVERDUE)),
    ):
        with pytest.raises(errors.FragmentNotActive):
            plan_split(c, f, sender="tier1", recipient="tier2", amount=100_000 * YUAN,
                       on=date(2026, 11, 10), rules=RULES)  # fmt: skip


def test_settlement_pays_each_holder_the_sum_of_its_active_fragments() -> None:
    c = cert()
    r = root(c, 1)
    a, b = children(plan_split(c, r, sender="tier1", recipient="tier2", amount=300_000 * YUAN,
                               on=date(2026, 11, 10), rules=RULES), first_id=2)  # fmt: skip
    fragments = [replace(r, status=FragmentStatus.SPENT), a, b]
    on_time = maturity_payouts(fragments, maturity=c.maturity, on=c.maturity,
                               penalty_rate=D("0.18"))  # fmt: skip
    assert on_time == {"tier2": 300_000 * YUAN, "tier1": 700_000 * YUAN}
    # Ten days late at 18% a year on 360: 0.5% more for each holder.
    late = maturity_payouts(fragments, maturity=c.maturity, on=date(2027, 2, 8),
                            penalty_rate=D("0.18"))  # fmt: skip
    assert late == {"tier2": 301_500 * YUAN, "tier1": 703_500 * YUAN}
    # Paid 36 days early at 5% on 360: 0.5% less for each.
    early = early_payouts(fragments, rate=D("0.05"), days=36, day_count=DayCount.ACT_360)
    assert early == {"tier2": 298_500 * YUAN, "tier1": 696_500 * YUAN}


def test_penalty_interest_by_hand() -> None:
    # 50,000.00 overdue 10 days at 18% a year on 360: 5,000,000 × 0.18 × 10 / 360 = 25,000.
    assert penalty_interest(5_000_000, D("0.18"), 10) == 25_000
    assert penalty_interest(5_000_000, D("0.18"), 0) == 0


def test_credit_is_drawn_within_its_limit_and_life() -> None:
    line = CreditLine(1, "bank", "core", "CNY", 1_000, 900, date(2027, 6, 30))
    assert draw(line, 100, on=date(2027, 1, 1)) == 1_000
    with pytest.raises(errors.CreditLineExceeded):
        draw(line, 101, on=date(2027, 1, 1))
    with pytest.raises(errors.CreditLineExpired):
        draw(line, 1, on=date(2027, 7, 1))
    assert release(900, 400) == 500
    limit = IssuanceLimit("core", "CNY", 10_000, 9_000)
    assert issue_within(limit, 1_000) == 10_000
    with pytest.raises(errors.IssuanceLimitExceeded):
        issue_within(limit, 1_001)


def test_a_transfer_names_the_trade_it_pays_for() -> None:
    from capillary.domain.certificates import check_trade_reference, parse_trade_reference
    from capillary.domain.trade import Invoice

    assert parse_trade_reference("contract:FA-88") is None
    assert parse_trade_reference("26442000000000000001") == ("", "26442000000000000001")
    assert parse_trade_reference("044031900111-00582211") == ("044031900111", "00582211")
    invoice = Invoice("tier2", "tier1", None, "26442000000000000001", "PO-1", "CNY",
                      date(2026, 10, 1), 1, 0, 1, ())  # fmt: skip
    check_trade_reference("contract:FA-88", None, buyer="tier1", supplier="tier2")
    check_trade_reference("26442000000000000001", invoice, buyer="tier1", supplier="tier2")
    for bad in ("", "contract:", "26442000000000000001"):
        with pytest.raises(errors.NoTradeReference):
            check_trade_reference(bad, None, buyer="tier1", supplier="tier2")
    with pytest.raises(errors.NoTradeReference):  # someone else's invoice
        check_trade_reference("26442000000000000001", invoice, buyer="tier1", supplier="tier3")
