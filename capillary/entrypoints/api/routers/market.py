"""The marketplace: holders' financing requests, funders' quotes, best execution."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from capillary.domain import wire
from capillary.domain.market import RECOURSE_BY_NAME, Status
from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.pagination import Cursor, Id, Limit, after_id, keyset
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.common import Money, Page, minor_units
from capillary.entrypoints.api.schemas.market import (
    BidIn,
    BidOut,
    ClearedOut,
    ClearingOut,
    EarlyPaymentIn,
    EarlyPaymentOut,
    Filled,
    FillOut,
    MarketQuoteIn,
    MarketQuoteOut,
    OutlookOut,
    RequestIn,
    RequestOut,
    SummaryOut,
    rate_or_none,
)

router = APIRouter(prefix="/market", tags=["market"], route_class=AnswerInThread)


@router.post("/requests", status_code=201, summary="Ask the market to finance a fragment")
def request_financing(
    body: RequestIn, services: Services, caller: Caller, key: IdempotencyKey
) -> RequestOut:
    amount, _ = minor_units(body.amount)
    made = services.market.request_financing(
        principal=caller, fragment_id=body.fragment_id, amount=amount,
        expires_on=body.expires_on, key=key,
        max_rate=None if body.max_rate is None else Decimal(body.max_rate),
        flat_discount=None if body.flat_discount is None else Decimal(body.flat_discount),
        recourse=RECOURSE_BY_NAME[body.recourse],
    )  # fmt: skip
    return RequestOut.of(made)


@router.get("/requests", summary="Your requests; for a funder, those open to it")
def list_requests(
    services: Services,
    caller: Caller,
    status: Annotated[Status | None, Query(description="Only in this state.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[RequestOut]:
    found = services.market.financing_requests(principal=caller, status=status,
                                               after=after_id(cursor), limit=limit + 1)  # fmt: skip
    page, more = keyset(found, lambda r: r.id, limit)
    return Page[RequestOut](items=[RequestOut.of(r) for r in page], next=more)


@router.get("/requests/{request_id}", summary="A financing request")
def get_request(request_id: Id, services: Services, caller: Caller) -> RequestOut:
    return RequestOut.of(services.market.financing_request(request_id, principal=caller))


@router.post("/requests/{request_id}/cancel", summary="Withdraw what is left of a request")
def cancel_request(
    request_id: Id, services: Services, caller: Caller, key: IdempotencyKey
) -> RequestOut:
    return RequestOut.of(services.market.cancel_request(request_id, principal=caller, key=key))


@router.post("/requests/{request_id}/quotes", status_code=201,
             summary="Quote on a request (a funder with a line to the obligor)")  # fmt: skip
def quote_request(
    request_id: Id, body: MarketQuoteIn, services: Services, caller: Caller, key: IdempotencyKey
) -> MarketQuoteOut:
    amount, currency = minor_units(body.amount)
    made = services.market.quote_request(
        request_id, principal=caller, rate=Decimal(body.rate), amount=amount,
        valid_until=body.valid_until, key=key, recourse=body.recourse,
    )  # fmt: skip
    return MarketQuoteOut.of(made, currency)


@router.get("/requests/{request_id}/quotes",
            summary="Quotes on a request: all for its holder, a funder's own")  # fmt: skip
def list_quotes(request_id: Id, services: Services, caller: Caller) -> list[MarketQuoteOut]:
    found = services.market.financing_request(request_id, principal=caller)
    return [MarketQuoteOut.of(q, found.currency)
            for q in services.market.quotes(request_id, principal=caller)]  # fmt: skip


@router.post("/requests/{request_id}/fill",
             summary="Take the best the market offers now (the holder)")  # fmt: skip
def fill_request(request_id: Id, services: Services, caller: Caller, key: IdempotencyKey) -> Filled:
    fills = services.market.fill(request_id, principal=caller, key=key)
    found = services.market.financing_request(request_id, principal=caller)
    return Filled(request=RequestOut.of(found),
                  fills=[FillOut.of(f, found.currency) for f in fills])  # fmt: skip


@router.get("/view", summary="Supply and demand: asked, quoted, filled, unmet, idle, rates")
def market_view(
    services: Services,
    caller: Caller,
    by: Annotated[
        Literal["all", "obligor", "industry", "tier", "tenor", "month"],
        Query(description="Group by."),
    ] = "all",
) -> list[SummaryOut]:
    return [SummaryOut.of(s) for s in services.market.view(principal=caller, by=by)]


# ------------------------------------------------------------------ early payment


@router.post("/early-payments", status_code=201,
             summary="Offer your cash for early payment of your certificates")  # fmt: skip
def offer_early_payment(
    body: EarlyPaymentIn, services: Services, caller: Caller, key: IdempotencyKey
) -> EarlyPaymentOut:
    cash, currency = minor_units(body.cash)
    made = services.early_payment.offer(principal=caller, cash=cash, currency=currency,
                                        hurdle=Decimal(body.hurdle),
                                        expires_on=body.expires_on, key=key)  # fmt: skip
    return EarlyPaymentOut.of(made)


@router.get("/early-payments/{programme_id}", summary="An early-payment offer")
def get_early_payment(programme_id: Id, services: Services, caller: Caller) -> EarlyPaymentOut:
    return EarlyPaymentOut.of(services.early_payment.programme(programme_id, principal=caller))


@router.post("/early-payments/{programme_id}/bids", status_code=201,
             summary="Bid the APR you give up to be paid now (a holder)")  # fmt: skip
def bid_early_payment(
    programme_id: Id, body: BidIn, services: Services, caller: Caller, key: IdempotencyKey
) -> BidOut:
    amount, currency = minor_units(body.amount)
    made = services.early_payment.bid(programme_id, principal=caller,
                                      fragment_id=body.fragment_id, amount=amount,
                                      apr=Decimal(body.apr), key=key)  # fmt: skip
    return BidOut.of(made, currency)


@router.get("/early-payments/{programme_id}/bids",
            summary="Bids on an offer: all for its obligor, your own for a holder")  # fmt: skip
def list_bids(programme_id: Id, services: Services, caller: Caller) -> list[BidOut]:
    offer = services.early_payment.programme(programme_id, principal=caller)
    return [BidOut.of(b, offer.currency)
            for b in services.early_payment.bids(programme_id, principal=caller)]  # fmt: skip


@router.get("/early-payments/{programme_id}/bids/{bid_id}/outlook",
            summary="Would this bid clear now, and at what rate for certain")  # fmt: skip
def bid_outlook(programme_id: Id, bid_id: Id, services: Services, caller: Caller) -> OutlookOut:
    offer = services.early_payment.programme(programme_id, principal=caller)
    seen = services.early_payment.outlook(programme_id, bid_id, principal=caller)
    return OutlookOut(clearing_now=Money.of(seen.clearing_now, offer.currency),
                      clearing_rate=rate_or_none(seen.clearing_rate),
                      last_rate=rate_or_none(seen.last_rate),
                      certain_rate=rate_or_none(seen.certain_rate))  # fmt: skip


@router.post("/early-payments/{programme_id}/clear",
             summary="Run the clearing: pay the best bids first (the obligor)")  # fmt: skip
def clear_early_payment(
    programme_id: Id, services: Services, caller: Caller, key: IdempotencyKey
) -> ClearingOut:
    offer = services.early_payment.programme(programme_id, principal=caller)
    done = services.early_payment.clear(programme_id, principal=caller, key=key)
    cur = offer.currency
    return ClearingOut(
        cleared=[ClearedOut(bid_id=c.bid_id, holder=c.holder, fragment_id=c.fragment_id,
                            face=Money.of(c.face, cur), apr=wire.rate_text(c.apr),
                            paid=Money.of(c.paid, cur)) for c in done.cleared],
        cash_used=Money.of(done.cash_used, cur), rate=rate_or_none(done.rate),
    )  # fmt: skip
