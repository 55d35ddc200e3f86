"""Shapes of the marketplace: financing requests, quotes on them, and fills."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from capillary.domain import wire
from capillary.domain.market import (
    BidRecord,
    EarlyPaymentOffer,
    FinancingRequest,
    MarketFill,
    MarketQuote,
)
from capillary.domain.market_view import Summary
from capillary.entrypoints.api.schemas.common import Money, RateText, Shape

Recourse = Literal["any", "with", "without"]


class RequestIn(Shape):
    """A holder asks the market to finance (part of) a fragment: the highest rate it accepts
    as an APR (``max_rate``) or as a flat discount off the face (``flat_discount``), one."""

    fragment_id: int = Field(ge=1, le=2**63 - 1)
    amount: Money
    max_rate: RateText | None = None
    flat_discount: RateText | None = Field(
        None, description="A fraction off the face (0.01 is 1%), read as the APR it is."
    )
    recourse: Recourse = "any"
    expires_on: date


class AmendIn(Shape):
    """What changes of an open request: the amount still wanted, the highest rate (as an
    APR or a flat discount), the recourse it accepts, the expiry; what is left out stands."""

    amount: Money | None = Field(None, description="The amount still wanted (the open part).")
    max_rate: RateText | None = None
    flat_discount: RateText | None = None
    recourse: Recourse | None = None
    expires_on: date | None = None


class RequestOut(Shape):
    id: int
    holder: str
    fragment_id: int
    obligor: str
    amount: Money
    filled: Money
    max_rate: str
    recourse: Recourse
    expires_on: date
    status: str = Field(examples=["open"], description="open, filled, cancelled or expired")
    created_at: datetime
    standing_id: int | None = Field(description="The standing request that posted it.")

    @classmethod
    def of(cls, r: FinancingRequest) -> RequestOut:
        return cls.model_validate(wire.financing_request(r))


class MarketQuoteIn(Shape):
    rate: RateText
    amount: Money
    valid_until: date
    recourse: bool = False


class MarketQuoteOut(Shape):
    id: int
    request_id: int
    funder: str
    rate: str
    amount: Money
    filled: Money
    recourse: bool
    valid_until: date
    status: str
    created_at: datetime
    rule_id: int | None = Field(description="The funder's standing rule that quoted it.")

    @classmethod
    def of(cls, q: MarketQuote, currency: str) -> MarketQuoteOut:
        return cls.model_validate(wire.market_quote(q, currency))


class FillOut(Shape):
    quote_id: int | None = Field(description="The quote it filled (none: the obligor paid).")
    funder: str = Field(description="Who bought: the funder, or the obligor paying early.")
    amount: Money
    rate: str
    fragment_id: int = Field(description="The buyer's new fragment.")
    ledger_transaction: int
    programme_id: int | None = Field(description="The obligor's early-payment offer it drew.")

    @classmethod
    def of(cls, f: MarketFill, currency: str) -> FillOut:
        return cls.model_validate(wire.market_fill(f, currency))


class Filled(Shape):
    request: RequestOut
    fills: list[FillOut]


class SummaryOut(Shape):
    """Supply and demand in one group: amounts asked, quoted, filled; the unmet demand and
    the idle supply; rates (weighted by amount) and the median time from request to cash."""

    group: str
    requests: int
    requested: Money
    quoted: Money
    filled: Money
    unmet: Money
    expired: Money = Field(description="Of the unmet demand, what expired unfilled.")
    idle: Money
    fills: int
    average_rate: str | None
    lowest_rate: str | None
    median_rate: str | None
    highest_rate: str | None
    median_seconds_to_cash: int | None
    spread: str | None = Field(description="The average rate over the base rate in effect.")

    @classmethod
    def of(cls, s: Summary) -> SummaryOut:
        cur = s.currency
        return cls(group=s.group, requests=s.requests, requested=Money.of(s.requested, cur),
                   quoted=Money.of(s.quoted, cur), filled=Money.of(s.filled, cur),
                   unmet=Money.of(s.unmet, cur), expired=Money.of(s.expired, cur),
                   idle=Money.of(s.idle, cur), fills=s.fills,
                   average_rate=rate_or_none(s.average_rate),
                   lowest_rate=rate_or_none(s.lowest_rate),
                   median_rate=rate_or_none(s.median_rate),
                   highest_rate=rate_or_none(s.highest_rate),
                   median_seconds_to_cash=s.median_seconds_to_cash,
                   spread=None if s.spread is None else f"{s.spread:f}")  # fmt: skip


def rate_or_none(rate: Decimal | None) -> str | None:
    return None if rate is None else wire.rate_text(rate)


class EarlyPaymentIn(Shape):
    """An obligor offers its cash for early payment of its certificates."""

    cash: Money
    hurdle: RateText = Field(description="The lowest APR a bid may give up to be paid.")
    expires_on: date


class EarlyPaymentOut(Shape):
    id: int
    obligor: str
    cash: Money
    used: Money
    hurdle: str
    expires_on: date
    status: str
    last_rate: str | None = Field(description="What the last clearing cleared at.")

    @classmethod
    def of(cls, o: EarlyPaymentOffer) -> EarlyPaymentOut:
        cur = o.currency
        return cls(id=o.id, obligor=o.obligor, cash=Money.of(o.cash, cur),
                   used=Money.of(o.used, cur), hurdle=wire.rate_text(o.hurdle),
                   expires_on=o.expires_on, status=o.status.value,
                   last_rate=rate_or_none(o.last_rate))  # fmt: skip


class BidIn(Shape):
    fragment_id: int = Field(ge=1, le=2**63 - 1)
    amount: Money
    apr: RateText = Field(description="The APR you give up to be paid now.")


class BidOut(Shape):
    id: int
    programme_id: int
    holder: str
    fragment_id: int
    amount: Money
    apr: str
    status: str
    face_cleared: Money
    paid: Money

    @classmethod
    def of(cls, b: BidRecord, currency: str) -> BidOut:
        return cls(id=b.id, programme_id=b.programme_id, holder=b.holder,
                   fragment_id=b.fragment_id, amount=Money.of(b.amount, currency),
                   apr=wire.rate_text(b.apr), status=b.status.value,
                   face_cleared=Money.of(b.face_cleared, currency),
                   paid=Money.of(b.paid, currency))  # fmt: skip


class OutlookOut(Shape):
    clearing_now: Money = Field(description="How much of the bid a run now would clear.")
    clearing_rate: str | None
    last_rate: str | None
    certain_rate: str | None = Field(description="An APR that clears the whole bid now.")


class ClearedOut(Shape):
    bid_id: int
    holder: str
    fragment_id: int
    face: Money
    apr: str
    paid: Money


class ClearingOut(Shape):
    cleared: list[ClearedOut]
    cash_used: Money
    rate: str | None
