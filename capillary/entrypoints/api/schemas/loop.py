"""Shapes of the closed loop: credit, cash, certificates and fragments, financing,
settlement and recourse."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field

from capillary.domain import wire
from capillary.domain.certificates import Certificate, Fragment
from capillary.domain.credit import CreditLine, IssuanceLimit
from capillary.domain.offers import FinancingOffer
from capillary.domain.pricing import Quote
from capillary.entrypoints.api.schemas.common import (
    Code,
    CurrencyCode,
    Money,
    RateText,
    Shape,
)
from capillary.services.settlement import SettlementRun

DAY_COUNTS = r"^ACT/(360|365)$"
RecordId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class CreditLineIn(Shape):
    funder: Code
    obligor: Code
    limit: Money
    expires_on: date


class CreditLineOut(Shape):
    funder: str
    obligor: str
    limit: Money
    used: Money
    available: Money
    expires_on: date

    @classmethod
    def of(cls, ln: CreditLine) -> CreditLineOut:
        return cls.model_validate(wire.credit_line(ln))


class IssuanceLimitIn(Shape):
    obligor: Code
    limit: Money


class IssuanceLimitOut(Shape):
    obligor: str
    limit: Money
    used: Money

    @classmethod
    def of(cls, lim: IssuanceLimit) -> IssuanceLimitOut:
        return cls(obligor=lim.obligor, limit=Money.of(lim.limit, lim.currency),
                   used=Money.of(lim.used, lim.currency))  # fmt: skip


class CashMove(Shape):
    org: Code
    amount: Money
    reference: str = Field("", max_length=200, examples=["bank statement 2026-11-27 line 14"])


class CashMoved(Shape):
    org: str
    amount: Money
    balance: Money
    ledger_transaction: int


class CashBalance(Shape):
    org: str
    balance: Money


class IssueIn(Shape):
    obligor: Code
    holder: Code
    payable_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        min_length=1, max_length=1_000
    )
    face: Money
    maturity: date


class CertificateOut(Shape):
    number: str
    obligor: str
    first_holder: str
    face: Money
    issue_date: date
    maturity: date
    status: str

    @classmethod
    def of(cls, c: Certificate) -> CertificateOut:
        return cls.model_validate(wire.certificate(c))


class Issued(Shape):
    certificate: CertificateOut
    warnings: list[str]


class FragmentOut(Shape):
    id: int
    certificate: str
    parent_id: int | None
    holder: str
    amount: Money
    status: str
    tier: int
    path: str = Field(examples=["1/4/9"], description="Fragment ids from the root down.")
    recourse_to: str | None

    @classmethod
    def of(cls, f: Fragment, c: Certificate) -> FragmentOut:
        return cls.model_validate(wire.fragment(f, c))


class CertificateTree(Shape):
    """A certificate and what the caller may see of its tree: the obligor, the operator and
    auditors all of it; a holder its own fragments and the path above them."""

    certificate: CertificateOut
    fragments: list[FragmentOut]


class CancelIn(Shape):
    reason: str = Field(min_length=1, max_length=500)


class TransferIn(Shape):
    recipient: Code
    amount: Money
    reference: str = Field(
        min_length=1, max_length=200, examples=["invoice 044031900111/20261120"],
        description="The trade it pays for: invoice CODE/NUMBER of the recipient's.",
    )  # fmt: skip


class Moved(Shape):
    """The recipient's fragment, then the sender's change (if any)."""

    fragments: list[FragmentOut]


class OfferIn(Shape):
    """A holder offers (part of) a fragment to a funder."""

    fragment_id: int = Field(ge=1, le=2**63 - 1)
    funder: Code
    amount: Money
    rate: RateText
    day_count: str = Field("ACT/360", pattern=DAY_COUNTS)
    fee_rate: RateText = "0"
    recourse: bool = False


class QuoteIn(Shape):
    """A funder quotes to buy (part of) a fragment from its holder."""

    fragment_id: int = Field(ge=1, le=2**63 - 1)
    seller: Code
    amount: Money
    rate: RateText
    day_count: str = Field("ACT/360", pattern=DAY_COUNTS)
    fee_rate: RateText = "0"
    recourse: bool = False


class OfferOut(Shape):
    id: int
    fragment_id: int
    seller: str
    funder: str
    proposer: str
    amount: Money
    rate: str
    day_count: str
    fee_rate: str
    recourse: bool
    status: str
    created_at: datetime
    ledger_transaction: int | None

    @classmethod
    def of(cls, o: FinancingOffer) -> OfferOut:
        return cls.model_validate(wire.offer(o))


class Price(Shape):
    face: Money
    days: int
    discount: Money
    fee: Money
    price: Money
    to_seller: Money

    @classmethod
    def of(cls, q: Quote, cur: str) -> Price:
        return cls.model_validate(wire.price(q, cur))


class FinancedOut(Shape):
    fragments: list[FragmentOut]
    price: Price


class SettlementOut(Shape):
    on: date | None
    settled: list[str]
    overdue: list[str]
    unpaid: list[str]
    paid: list[Money]
    fragments: int
    failed: list[dict[str, str]]

    @classmethod
    def of(cls, r: SettlementRun) -> SettlementOut:
        return cls(on=r.on, settled=r.settled, overdue=r.overdue, unpaid=r.unpaid,
                   paid=[Money.of(v, c) for c, v in sorted(r.paid_by_currency.items())],
                   fragments=r.fragments,
                   failed=[{"certificate": n, "why": w} for n, w in r.failed])  # fmt: skip


class PayEarlyIn(Shape):
    rate: RateText
    day_count: str = Field("ACT/360", pattern=DAY_COUNTS)


class PaidOut(Shape):
    certificate: str
    paid: Money


class ClaimOut(Shape):
    id: int
    certificate: str
    fragment_id: int
    claimant: str
    debtor: str
    amount: Money
    status: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> ClaimOut:
        return cls.model_validate(wire.claim(row))


class Collected(Shape):
    claim: int
    ledger_transaction: int


class CalendarDayIn(Shape):
    day: date
    business_day: bool
    reason: str = Field(min_length=1, max_length=200, examples=["State Council notice 2027"])


class CurrencyQuery(Shape):
    currency: CurrencyCode
