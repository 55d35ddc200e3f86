"""Bank files (issue 15) on SQLite and PostgreSQL: money leaves only to an account on file;
withdrawals and swept settlement payouts are sent in pain.001 files that validate; a bank's
camt.053 books its deposits once, however often it is imported, and sees our payments
through; an organization's own camt.053 of its platform cash validates and reads back as
the money that moved."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from capillary.adapters import iso20022
from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.domain.bank import DebtorAccount, Statement, StatementLine
from capillary.domain.errors import (
    BankFileRefused,
    Forbidden,
    NoBankAccount,
    OrganizationNotFound,
    ValidationError,
)
from capillary.services.bank import BankService
from tests.support.acting import as_, operator
from tests.support.loop import Loop

Y = 100
OURS = DebtorAccount("CNY", "CAPILLARY0000000001", "ICBKCNBJXXX", "Capillary platform")


@pytest.fixture
def world(store_url: str, clock: ManualClock) -> Iterator[tuple[Loop, BankService]]:
    """tier1 holds 600,000.00 of a 1,000,000.00 certificate maturing 2027-03-01, tier2
    the rest; both have cash."""
    db = Database(store_url)
    loop = Loop(db, clock)
    certs = loop.certs
    payable = loop.payable("core", "tier1", 1_000_000, "26442000000000000001")
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=5_000_000 * Y)
    certs.on(date(2026, 11, 2))
    for org in ("core", "tier1", "tier2"):
        certs.deposit(org=org, cur="CNY", amount=1_000_000 * Y, key=f"wire-{org}")
    number = certs.issue(obligor="core", holder="tier1", payable_ids=[payable],
                         face=1_000_000 * Y, maturity=date(2027, 3, 1),
                         issue_date=date(2026, 11, 2)).certificate.number  # fmt: skip
    certs.accept(number, by="tier1")
    (root,) = certs.fragments(number)
    certs.transfer(sender="tier1", fragment_id=root.id, recipient="tier2",
                   amount=400_000 * Y, reference="contract:t2")  # fmt: skip
    bank = BankService(db, loop.ledger, clock=clock, timezone="Asia/Shanghai",
                       debtors={"CNY": OURS}, name="Capillary platform")  # fmt: skip
    yield loop, bank
    db.dispose()


def test_payments_out_as_pain001(world: tuple[Loop, BankService]) -> None:
    loop, bank = world
    certs = loop.certs
    # tier3 has no account on file (the world gave it one: take it away): refused, nothing moves.
    bank.db.transaction(lambda c: c.exec_driver_sql(
        "DELETE FROM bank_accounts WHERE org = 'tier3'"))  # fmt: skip
    certs.deposit(org="tier3", cur="CNY", amount=10 * Y, key="wire-t3")
    with pytest.raises(NoBankAccount):
        certs.withdraw(org="tier3", cur="CNY", amount=5 * Y, key="w-t3")
    assert certs.cash("tier3", "CNY") == 10 * Y
    with pytest.raises(Forbidden):  # only an organization sets its own
        bank.set_account(principal=as_("tier1"), org="tier2", cur="CNY", number="6222",
                         holder="x", key="k")  # fmt: skip
    with pytest.raises(ValidationError):
        bank.set_account(principal=as_("tier2"), org="tier2", cur="CNY",
                         number="DE00370400440532013000", holder="Tier 2", key="bad")  # fmt: skip
    bank.set_account(principal=as_("tier2"), org="tier2", cur="CNY",
                     number="DE89370400440532013000", holder="Tier 2 GmbH", bic="DEUTDEFF",
                     sweep=True, key="acct-t2")  # fmt: skip

    certs.withdraw(org="tier1", cur="CNY", amount=1_234_56, key="w1")
    certs.withdraw(org="tier1", cur="CNY", amount=1_234_56, key="w1")  # a retry: once
    certs.withdraw(org="tier2", cur="CNY", amount=99, key="w2")
    run = certs.settle(on=date(2027, 3, 1))  # tier2 sweeps: its 400,000.00 leaves too
    assert run.settled
    assert certs.cash("tier2", "CNY") == 1_000_000 * Y - 99  # the payout went straight out

    files = bank.run_payments(principal=operator(), key="run-1")
    assert len(files) == 1
    (f,) = files
    assert iso20022.problems(f.document) == []
    assert (f.currency, f.payments, f.total) == ("CNY", 3, 1_234_56 + 99 + 400_000 * Y)
    text = f.document.decode()
    assert text.count("<CdtTrfTxInf>") == 3
    assert "<IBAN>DE89370400440532013000</IBAN>" in text
    assert f"<MsgId>{f.message_id}</MsgId>" in text
    assert "<ReqdExctnDt>\n        <Dt>2027-03-01</Dt>" in text  # the platform's business day
    sent = bank.payments(principal=operator())
    assert {(p.kind, status) for p, status, _ in sent} == {("withdrawal", "sent"),
                                                           ("settlement", "sent")}  # fmt: skip
    assert [p.org for p, _, _ in bank.payments(principal=as_("tier2"))] == ["tier2", "tier2"]
    with pytest.raises(OrganizationNotFound):
        bank.payments(principal=as_("tier2"), org="tier1")

    again = bank.run_payments(principal=operator(), key="run-1")  # a replay: the same files
    assert [(g.message_id, g.document) for g in again] == [(f.message_id, f.document)]
    assert bank.run_payments(principal=operator(), key="run-2") == []  # nothing queued
    with pytest.raises(Forbidden):
        bank.run_payments(principal=as_("tier1"), key="run-3")


def _bank_statement(lines: list[StatementLine]) -> bytes:
    """The statement the platform's bank would send."""
    statement = Statement("STMT-20270302", OURS.number, "CNY", 0, 0, date(2027, 3, 2),
                          date(2027, 3, 2), tuple(lines), "Capillary platform")  # fmt: skip
    return iso20022.camt053("BANK-1", datetime(2027, 3, 2, 18, tzinfo=UTC), statement)


def test_a_bank_statement_books_deposits_once(world: tuple[Loop, BankService]) -> None:
    loop, bank = world
    certs = loop.certs
    certs.withdraw(org="tier1", cur="CNY", amount=500 * Y, key="w1")
    (sent,) = bank.run_payments(principal=operator(), key="run-1")
    (payment, _, _), *_ = bank.payments(principal=operator())
    tier3_account = "62220202" + f"{3:011d}"  # on file for tier3 (tests/support/loop.py)
    day = date(2027, 3, 2)
    lines = [
        StatementLine("B1", 250_000 * Y, "CNY", True, day, "E1", tier3_account, "Tier3"),
        StatementLine("B2", 12_345, "CNY", True, day, "E2", "999999", "Someone",
                      "top-up for tier2, thanks"),
        StatementLine("B3", 777, "CNY", True, day, "E3", "888888", "A stranger", "hello"),
        StatementLine("B4", 5, "CNY", True, day, "E4", tier3_account, "", "for tier2"),
        StatementLine("B5", 500 * Y, "CNY", False, day, payment.end_to_end),
        StatementLine("B6", 1, "CNY", False, day, "NOT-OURS"),
    ]  # fmt: skip
    document = _bank_statement(lines)
    before = {o: certs.cash(o, "CNY") for o in ("tier2", "tier3")}
    with pytest.raises(Forbidden):
        bank.import_statement(document, principal=as_("tier1"), key="s0")
    report = bank.import_statement(document, principal=operator(), key="s1")
    assert [(d.org, d.reference, d.amount) for d in report.deposits] == [
        ("tier3", "B1", 250_000 * Y), ("tier2", "B2", 12_345)]  # fmt: skip
    assert report.booked_payments == [payment.id]
    assert {line.reference for line, _ in report.unmatched} == {"B3", "B4", "B6"}
    after = {o: certs.cash(o, "CNY") for o in ("tier2", "tier3")}
    assert after == {"tier2": before["tier2"] + 12_345, "tier3": before["tier3"] + 250_000 * Y}
    assert [s for _, s, _ in bank.payments(principal=operator())] == ["booked"]

    twice = bank.import_statement(document, principal=operator(), key="s2")  # changes nothing
    assert (twice.deposits, twice.booked_payments, twice.already) == ([], [], 3)
    replay = bank.import_statement(document, principal=operator(), key="s1")  # the first answer
    assert replay.deposits == report.deposits
    assert {o: certs.cash(o, "CNY") for o in ("tier2", "tier3")} == after

    # A statement of an account that is not the platform's, and a payment file: refused.
    other = iso20022.camt053("X", datetime(2027, 3, 2, tzinfo=UTC), Statement(
        "S", "SOMEONE-ELSE", "CNY", 0, 0, day, day, (), ""))  # fmt: skip
    with pytest.raises(BankFileRefused, match="not one of the platform's"):
        bank.import_statement(other, principal=operator(), key="s3")
    with pytest.raises(BankFileRefused):
        bank.import_statement(sent.document, principal=operator(), key="s4")

    # tier3's own statement of its platform cash: what came in and went out, read back.
    certs.on(day)
    own = bank.statement("tier3", principal=as_("tier3"), from_day=date(2026, 11, 1))
    assert iso20022.problems(own) == []
    (read,) = iso20022.read_camt053(own)
    assert (read.opening, read.closing) == (0, certs.cash("tier3", "CNY"))
    assert [(ln.amount, ln.credit) for ln in read.lines] == [(250_000 * Y, True)]
    assert "deposit tier3 (bank B1)" in read.lines[0].remittance
    with pytest.raises(OrganizationNotFound):
        bank.statement("tier3", principal=as_("tier2"))
    with pytest.raises(ValidationError):
        bank.statement("tier3", principal=as_("tier3"), to_day=date(2027, 3, 3))
