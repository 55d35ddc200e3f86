"""The marketplace: holders' financing requests, funders' quotes, best execution."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from capillary.domain.market import Status
from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.pagination import Cursor, Id, Limit, after_id, keyset
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.common import Page, minor_units
from capillary.entrypoints.api.schemas.market import (
    Filled,
    FillOut,
    MarketQuoteIn,
    MarketQuoteOut,
    RequestIn,
    RequestOut,
    SummaryOut,
)

router = APIRouter(prefix="/market", tags=["market"], route_class=AnswerInThread)
_RECOURSE = {"any": None, "with": True, "without": False}


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
        recourse=_RECOURSE[body.recourse],
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
        Literal["all", "obligor", "tier", "tenor", "month"], Query(description="Group by.")
    ] = "all",
) -> list[SummaryOut]:
    return [SummaryOut.of(s) for s in services.market.view(principal=caller, by=by)]
