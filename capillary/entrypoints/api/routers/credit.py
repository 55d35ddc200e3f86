"""Credit: funders' lines to obligors, and the operator's issuance limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.pagination import Cursor, Limit, window
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.common import Page, minor_units
from capillary.entrypoints.api.schemas.loop import (
    CreditLineIn,
    CreditLineOut,
    IssuanceLimitIn,
    IssuanceLimitOut,
)

router = APIRouter(tags=["credit"], route_class=AnswerInThread)

Org = Annotated[str | None, Query(max_length=64, description="Only those of this organization.")]


@router.post("/credit-lines", summary="Grant or change your credit line to an obligor (funder)")
def grant_credit(
    body: CreditLineIn, services: Services, caller: Caller, key: IdempotencyKey
) -> CreditLineOut:
    """A new line, or a new limit and expiry for an existing one; never below what is used."""
    limit, cur = minor_units(body.limit)
    line = services.credit.grant_credit(principal=caller, funder=body.funder,
                                        obligor=body.obligor, cur=cur, limit=limit,
                                        expires_on=body.expires_on, key=key)  # fmt: skip
    return CreditLineOut.of(line)


@router.get("/credit-lines", summary="Credit lines you are a party to")
def credit_lines(
    services: Services,
    caller: Caller,
    org: Org = None,
    currency: Annotated[
        str | None, Query(max_length=3, description="Only in this currency.")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[CreditLineOut]:
    found = services.credit.credit_lines(org, principal=caller)
    if currency is not None:
        found = [ln for ln in found if ln.currency == currency.upper()]
    page, after = window(found, lambda ln: ln.id, cursor, limit)
    return Page[CreditLineOut](items=[CreditLineOut.of(ln) for ln in page], next=after)


@router.post("/issuance-limits", summary="Set an obligor's issuance limit (operator)")
def set_issuance_limit(
    body: IssuanceLimitIn, services: Services, caller: Caller, key: IdempotencyKey
) -> IssuanceLimitOut:
    limit, cur = minor_units(body.limit)
    services.credit.set_issuance_limit(principal=caller, obligor=body.obligor, cur=cur,
                                       limit=limit, key=key)  # fmt: skip
    (found,) = [x for x in services.credit.issuance_limits(body.obligor, principal=caller)
                if x.currency == cur]  # fmt: skip
    return IssuanceLimitOut.of(found)


@router.get("/issuance-limits", summary="Issuance limits: your own, or all for the operator")
def issuance_limits(
    services: Services, caller: Caller, obligor: Org = None, limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[IssuanceLimitOut]:  # fmt: skip
    found = services.credit.issuance_limits(obligor, principal=caller)
    page, after = window(found, lambda x: f"{x.obligor}/{x.currency}", cursor, limit)
    return Page[IssuanceLimitOut](items=[IssuanceLimitOut.of(x) for x in page], next=after)
