"""Shapes of the marketplace: financing requests, quotes on them, and fills."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from capillary.domain import wire
from capillary.domain.market import FinancingRequest, MarketFill, MarketQuote
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

    @classmethod
    def of(cls, q: MarketQuote, currency: str) -> MarketQuoteOut:
        return cls.model_validate(wire.market_quote(q, currency))


class FillOut(Shape):
    quote_id: int
    funder: str
    amount: Money
    rate: str
    fragment_id: int = Field(description="The funder's new fragment.")
    ledger_transaction: int

    @classmethod
    def of(cls, f: MarketFill, currency: str) -> FillOut:
        return cls.model_validate(wire.market_fill(f, currency))


class Filled(Shape):
    request: RequestOut
    fills: list[FillOut]
