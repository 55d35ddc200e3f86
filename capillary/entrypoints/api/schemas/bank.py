"""Shapes of bank files: accounts on file, payments, payment runs (pain.001 documents),
statement imports (camt.053) and what they booked."""

from __future__ import annotations

from pydantic import Field

from capillary.domain.bank import BankAccount, Payment
from capillary.entrypoints.api.schemas.common import CurrencyCode, Money, Shape
from capillary.services.bank import PaymentFile, StatementImport

Org = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9-]+$")


class BankAccountIn(Shape):
    org: str = Org
    currency: CurrencyCode
    number: str = Field(min_length=1, max_length=40, description="An IBAN, or the bank's own "
                        "account number.")  # fmt: skip
    holder: str = Field(min_length=1, max_length=140, description="The holder's name, as the "
                        "bank has it.")  # fmt: skip
    bic: str = Field("", max_length=11, description="The bank's BIC (8 or 11 characters).")
    sweep: bool = Field(False, description="Pay settlement proceeds straight out to it.")


class BankAccountOut(Shape):
    org: str
    currency: str
    number: str
    bic: str
    holder: str
    sweep: bool

    @classmethod
    def of(cls, a: BankAccount) -> BankAccountOut:
        return cls(org=a.org, currency=a.currency, number=a.number, bic=a.bic, holder=a.holder,
                   sweep=a.sweep)  # fmt: skip


class PaymentOut(Shape):
    id: int
    org: str
    kind: str = Field(description="withdrawal or settlement")
    amount: Money
    reference: str
    end_to_end_id: str
    to_account: str
    status: str = Field(description="queued, sent or booked")
    message_id: str = Field(description="The pain.001 that sent it ('' while queued).")

    @classmethod
    def of(cls, p: Payment, status: str, message_id: str) -> PaymentOut:
        return cls(id=p.id, org=p.org, kind=p.kind, amount=Money.of(p.amount, p.currency),
                   reference=p.reference, end_to_end_id=p.end_to_end,
                   to_account=p.creditor.number, status=status, message_id=message_id)  # fmt: skip


class PaymentFileOut(Shape):
    message_id: str
    currency: str
    payments: int
    total: Money
    document: str = Field(description="The pain.001.001.09 XML, valid against its XSD.")

    @classmethod
    def of(cls, f: PaymentFile) -> PaymentFileOut:
        return cls(message_id=f.message_id, currency=f.currency, payments=f.payments,
                   total=Money.of(f.total, f.currency), document=f.document.decode())  # fmt: skip


class PaymentRunOut(Shape):
    files: list[PaymentFileOut]


class StatementIn(Shape):
    document: str = Field(min_length=1, max_length=50_000_000, description="A camt.053.001.08 "
                          "statement of one of the platform's accounts, as XML.")  # fmt: skip


class DepositOut(Shape):
    org: str
    reference: str
    amount: Money
    matched: str


class UnmatchedOut(Shape):
    reference: str
    amount: Money
    credit: bool
    why: str


class StatementImportOut(Shape):
    statements: int
    deposits: list[DepositOut]
    booked_payments: list[int]
    already_imported: int
    unmatched: list[UnmatchedOut]

    @classmethod
    def of(cls, r: StatementImport) -> StatementImportOut:
        return cls(
            statements=r.statements,
            deposits=[DepositOut(org=d.org, reference=d.reference,
                                 amount=Money.of(d.amount, d.currency), matched=d.matched)
                      for d in r.deposits],
            booked_payments=r.booked_payments, already_imported=r.already,
            unmatched=[UnmatchedOut(reference=ln.reference,
                                    amount=Money.of(ln.amount, ln.currency), credit=ln.credit,
                                    why=why) for ln, why in r.unmatched],
        )  # fmt: skip
