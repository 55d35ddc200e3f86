"""ISO 20022 files (issue 15): the XSDs are the ones we say they are; every pain.001 and
camt.053 we write validates against its XSD; a camt.053 written and read back is the same
statement, whatever its lines (hypothesis); what is not one is refused by name, XML tricks
included; matching a line to its organization."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capillary.adapters import iso20022
from capillary.domain.bank import (
    BankAccount,
    DebtorAccount,
    Payment,
    Statement,
    StatementLine,
    check_bank_account,
    match_deposit,
    parse_debtor_accounts,
    payment_id,
)
from capillary.domain.errors import BankFileRefused, ValidationError

SCHEMAS = Path(iso20022.__file__).parent / "schemas"
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
DEBTOR = DebtorAccount("CNY", "CAPILLARY0000000001", "ICBKCNBJXXX", "Capillary platform")


def test_the_shipped_xsds_are_the_ones_the_sources_name() -> None:
    sources = (SCHEMAS / "SOURCES.md").read_text()
    for name in ("pain.001.001.09.xsd", "camt.053.001.08.xsd"):
        digest = hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest()
        assert re.search(rf"`{re.escape(name)}`.*`{digest}`", sources), name


def _payment(i: int, amount: int, number: str, bic: str = "") -> Payment:
    creditor = BankAccount(f"org{i}", "CNY", number, bic, f"Org {i} Ltd", False)
    return Payment(i, f"org{i}", "CNY", amount, "withdrawal", f"withdrawal org{i}", creditor)


def test_a_payment_file_validates_and_says_what_it_pays() -> None:
    payments = [_payment(1, 123_45, "6222020200112233445", "ICBKCNBJ"),
                _payment(2, 1, "DE89370400440532013000")]  # fmt: skip
    document = iso20022.pain001("CAP-1", NOW, date(2026, 11, 28), DEBTOR, "Capillary", payments)
    assert iso20022.problems(document) == []
    text = document.decode()
    assert "<NbOfTxs>2</NbOfTxs>" in text
    assert "<CtrlSum>123.46</CtrlSum>" in text
    assert '<InstdAmt Ccy="CNY">123.45</InstdAmt>' in text
    assert "<IBAN>DE89370400440532013000</IBAN>" in text  # an IBAN as one, others as Othr
    assert "<Othr>\n              <Id>6222020200112233445</Id>" in text
    assert payment_id(payments[0].end_to_end) == 1
    assert payment_id("NOTPROVIDED") is None


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                min_size=0, max_size=60).map(lambda s: " ".join(s.split()))  # fmt: skip
_line = st.builds(
    StatementLine,
    reference=st.from_regex(r"[A-Z0-9]{1,30}", fullmatch=True),
    amount=st.integers(1, 10**15),
    currency=st.just("CNY"),
    credit=st.booleans(),
    booked_on=st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    end_to_end=st.from_regex(r"[A-Za-z0-9-]{1,35}", fullmatch=True),
    counterparty_account=st.sampled_from(["", "6222020200112233445", "DE89370400440532013000"]),
    counterparty_name=_text,
    remittance=_text,
)


@given(lines=st.lists(_line, max_size=8, unique_by=lambda ln: ln.reference),
       opening=st.integers(-(10**15), 10**15), closing=st.integers(-(10**15), 10**15))  # fmt: skip
@settings(max_examples=60, deadline=None)
def test_a_statement_written_and_read_back_is_the_same(
    lines: list[StatementLine], opening: int, closing: int
) -> None:
    period = (date(2026, 11, 1), date(2026, 11, 28))
    statement = Statement("S-1", "CAPILLARY0000000001", "CNY", opening, closing, *period,
                          tuple(lines), "Capillary")  # fmt: skip
    document = iso20022.camt053("M-1", NOW, statement)
    assert iso20022.problems(document) == []
    assert iso20022.read_camt053(document) == [statement]


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (b"", "not well-formed"),
        (b"<Document>", "not well-formed"),
        (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
         b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&x;</Document>',
         "DOCTYPE"),
        (b'<Document xmlns="urn:other"/>', "not a valid camt.053"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt/>'
         b"</Document>", "not a valid camt.053"),
    ],
)  # fmt: skip
def test_what_is_not_a_statement_is_refused(document: bytes, says: str) -> None:
    with pytest.raises(BankFileRefused, match=says) as refused:
        iso20022.read_camt053(document)
    assert "root:" not in str(refused.value)  # the entity was never resolved


def test_a_payment_file_is_not_a_statement() -> None:
    document = iso20022.pain001("CAP-1", NOW, date(2026, 11, 28), DEBTOR, "Capillary",
                                [_payment(1, 100, "6222020200112233445")])  # fmt: skip
    with pytest.raises(BankFileRefused):
        iso20022.read_camt053(document)


def test_bank_accounts_are_checked() -> None:
    assert check_bank_account(" de89 3704 0044 0532 0130 00", "deutdeff", "  A  GmbH ") == (
        "DE89370400440532013000", "DEUTDEFF", "A GmbH")  # fmt: skip
    for number, bic, holder in [("DE89370400440532013001", "", "A"), ("", "", "A"),
                                ("6222", "NOTABIC", "A"), ("6222", "", " "),
                                ("x" * 35, "", "A"), ("<script>", "", "A")]:  # fmt: skip
        with pytest.raises(ValidationError):
            check_bank_account(number, bic, holder)
    assert set(parse_debtor_accounts("CNY:CAP0001:ICBKCNBJXXX; usd:CAP0002:ICBKCNBJ", "P")) == {
        "CNY", "USD"}  # fmt: skip
    with pytest.raises(ValidationError):
        parse_debtor_accounts("CNY-CAP0001", "P")


def test_a_line_is_matched_by_account_or_remittance_and_never_guessed() -> None:
    by_account = {("6222020200112233445", "CNY"): "acme"}
    orgs = {"acme", "globex", "t1-auto-0002"}

    def line(account: str = "", remittance: str = "") -> StatementLine:
        return StatementLine("R", 100, "CNY", True, date(2026, 11, 2),
                             counterparty_account=account, remittance=remittance)  # fmt: skip

    assert match_deposit(line("6222020200112233445"), by_account, orgs) == ("acme", "by account")
    assert match_deposit(line(remittance="Top-up T1-AUTO-0002, thanks"), by_account, orgs)[0] == (
        "t1-auto-0002")  # fmt: skip
    assert match_deposit(line("6222020200112233445", "for acme"), by_account, orgs)[0] == "acme"
    assert match_deposit(line("6222020200112233445", "for globex"), by_account, orgs)[0] is None
    assert match_deposit(line(remittance="acme and globex"), by_account, orgs)[0] is None
    assert match_deposit(line("999", "invoice 42"), by_account, orgs)[0] is None
