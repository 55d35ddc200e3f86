"""Settlement: the operator's run at maturity, early payment by the obligor, recourse
claims, the platform calendar."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from capillary.domain.pricing import DayCount
from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.pagination import Cursor, Id, Limit, after_id, keyset
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.common import Money, Page
from capillary.entrypoints.api.schemas.loop import (
    CalendarDayIn,
    ClaimOut,
    Collected,
    PaidOut,
    PayEarlyIn,
    SettlementOut,
)

router = APIRouter(tags=["settlement"], route_class=AnswerInThread)


@router.post("/settlement-runs", status_code=201, summary="Settle everything due today (operator)")
def settle(services: Services, caller: Caller, key: IdempotencyKey) -> SettlementOut:
    """Each due certificate: the obligor pays once, every holder is paid; short of cash,
    nothing of it moves and past maturity it is overdue (penalty, recourse claims)."""
    return SettlementOut.of(services.settlement.settle(principal=caller, key=key))


@router.post(
    "/certificates/{number}/pay-early", summary="Pay every holder today at a discount (obligor)"
)
def pay_early(
    number: str, body: PayEarlyIn, services: Services, caller: Caller, key: IdempotencyKey
) -> PaidOut:
    cert = services.certificates.certificate(number, principal=caller)
    paid = services.settlement.pay_early(number, principal=caller, rate=Decimal(body.rate),
                                         key=key, day_count=DayCount(body.day_count))  # fmt: skip
    return PaidOut(certificate=number, paid=Money.of(paid, cert.currency))


@router.get("/recourse-claims", summary="Recourse claims you hold or owe")
def claims(
    services: Services,
    caller: Caller,
    org: Annotated[
        str | None, Query(max_length=64, description="Whose (operator, auditors).")
    ] = None,
    status: Annotated[str | None, Query(pattern="^(open|collected|paid_by_obligor)$")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[ClaimOut]:
    found = services.settlement.recourse_claims(org, principal=caller, after=after_id(cursor),
                                                limit=limit + 1, status=status)  # fmt: skip
    page, after = keyset(found, lambda c: int(c["id"]), limit)
    return Page[ClaimOut](items=[ClaimOut.of(c) for c in page], next=after)


@router.post(
    "/recourse-claims/{claim_id}/collect",
    summary="Collect an open claim from the seller (claimant)",
)
def collect(claim_id: Id, services: Services, caller: Caller, key: IdempotencyKey) -> Collected:
    tx = services.settlement.collect_recourse(claim_id, principal=caller, key=key)
    return Collected(claim=claim_id, ledger_transaction=tx)


@router.post(
    "/calendar-days", status_code=201, summary="Override the platform calendar for a day (operator)"
)
def calendar_day(
    body: CalendarDayIn, services: Services, caller: Caller, key: IdempotencyKey
) -> CalendarDayIn:
    services.settlement.set_calendar_day(body.day, principal=caller, business_day=body.business_day,
                                         reason=body.reason, key=key)  # fmt: skip
    return body
