"""Financing agreed by both sides: a holder's offer to sell, a funder's quote to buy, the
other side's acceptance (the fragment moves at the agreed price), withdrawal."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from capillary.domain.offers import OfferStatus
from capillary.domain.pricing import DayCount
from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.pagination import Cursor, Id, Limit, after_id, keyset
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.common import Page, minor_units
from capillary.entrypoints.api.schemas.loop import (
    FinancedOut,
    FragmentOut,
    OfferIn,
    OfferOut,
    Price,
    QuoteIn,
)

router = APIRouter(tags=["financing"], route_class=AnswerInThread)


@router.post("/financing-offers", status_code=201, summary="Offer a fragment to a funder (holder)")
def offer(body: OfferIn, services: Services, caller: Caller, key: IdempotencyKey) -> OfferOut:
    amount, _ = minor_units(body.amount)
    made = services.financing.offer_financing(
        principal=caller, fragment_id=body.fragment_id, funder=body.funder, amount=amount,
        rate=Decimal(body.rate), key=key, day_count=DayCount(body.day_count),
        fee_rate=Decimal(body.fee_rate), recourse=body.recourse,
    )  # fmt: skip
    return OfferOut.of(made)


@router.post(
    "/financing-quotes", status_code=201, summary="Quote to buy a holder's fragment (funder)"
)
def quote(body: QuoteIn, services: Services, caller: Caller, key: IdempotencyKey) -> OfferOut:
    amount, _ = minor_units(body.amount)
    made = services.financing.quote_financing(
        principal=caller, fragment_id=body.fragment_id, seller=body.seller, amount=amount,
        rate=Decimal(body.rate), key=key, day_count=DayCount(body.day_count),
        fee_rate=Decimal(body.fee_rate), recourse=body.recourse,
    )  # fmt: skip
    return OfferOut.of(made)


@router.get("/financing-offers", summary="Offers and quotes you made or received")
def offers(
    services: Services,
    caller: Caller,
    status: Annotated[OfferStatus | None, Query(description="Only in this state.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[OfferOut]:
    found = services.financing.financing_offers(
        principal=caller, status=status, after=after_id(cursor), limit=limit + 1
    )
    page, after = keyset(found, lambda o: o.id, limit)
    return Page[OfferOut](items=[OfferOut.of(o) for o in page], next=after)


@router.get("/financing-offers/{offer_id}", summary="One offer or quote")
def one_offer(offer_id: Id, services: Services, caller: Caller) -> OfferOut:
    return OfferOut.of(services.financing.financing_offer(offer_id, principal=caller))


@router.post(
    "/financing-offers/{offer_id}/accept", summary="Accept an offer or quote (the other side)"
)
def accept(offer_id: Id, services: Services, caller: Caller, key: IdempotencyKey) -> FinancedOut:
    """The fragment moves to the funder and the price to the seller, less the fee, in one
    ledger transaction, priced at the agreed rate for the days left today."""
    done = services.financing.accept_financing(offer_id, principal=caller, key=key)
    cert = done.certificate
    assert cert is not None
    return FinancedOut(fragments=[FragmentOut.of(f, cert) for f in done.fragments],
                       price=Price.of(done.quote, cert.currency))  # fmt: skip


@router.post("/financing-offers/{offer_id}/withdraw", summary="Withdraw your open offer or quote")
def withdraw(offer_id: Id, services: Services, caller: Caller, key: IdempotencyKey) -> OfferOut:
    return OfferOut.of(services.financing.withdraw_financing(offer_id, principal=caller, key=key))
