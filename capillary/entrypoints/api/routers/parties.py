"""Organizations and their trade relationships."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from capillary.domain.parties import RelationshipStatus, Tolerance, parse_percent, parse_roles
from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.pagination import Cursor, Limit, decode, encode
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.common import Money, Page, minor_units
from capillary.entrypoints.api.schemas.parties import (
    OrganizationIn,
    OrganizationOut,
    RelationshipIn,
    RelationshipOut,
    RelationshipStatusIn,
    ToleranceIn,
    ToleranceOut,
)
from capillary.services.parties import new_organization

router = APIRouter(tags=["organizations"], route_class=AnswerInThread)

Org = Annotated[str | None, Query(max_length=64, description="Only those of this organization.")]


@router.post("/organizations", status_code=201, summary="Register an organization (operator)")
def register(
    body: OrganizationIn, services: Services, caller: Caller, key: IdempotencyKey
) -> OrganizationOut:
    org = new_organization(code=body.code, name=body.name, scheme=body.scheme,
                           identifier=body.identifier, roles=parse_roles(body.roles),
                           industry=body.industry)  # fmt: skip
    return OrganizationOut.of(services.parties.register(org, principal=caller, key=key))


@router.get("/organizations", summary="The platform's directory of organizations")
def organizations(
    services: Services,
    caller: Caller,
    role: Annotated[
        str | None, Query(max_length=20, description="Only those with this role.")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[OrganizationOut]:
    wanted = None
    if role is not None:
        (wanted,) = parse_roles([role])
    found = services.parties.organizations(after=decode(cursor) or "", limit=limit + 1,
                                           role=wanted)  # fmt: skip
    page = found[:limit]
    after = encode(page[-1].code) if len(found) > limit and page else None
    return Page[OrganizationOut](items=[OrganizationOut.of(o) for o in page], next=after)


@router.get("/organizations/{code}", summary="One organization of the directory")
def organization(code: str, services: Services, caller: Caller) -> OrganizationOut:
    return OrganizationOut.of(services.parties.organization(code))


@router.post(
    "/organizations/{code}/tolerance", summary="Set how far invoices to you may exceed the match"
)
def set_tolerance(
    code: str, body: ToleranceIn, services: Services, caller: Caller, key: IdempotencyKey
) -> ToleranceOut:
    """The buyer's own setting: an invoice within it of what was ordered and accepted
    still matches."""
    absolute, cur = minor_units(body.absolute)
    org = services.parties.set_tolerance(
        code, Tolerance(parse_percent(body.percent), absolute), principal=caller, key=key
    )
    return ToleranceOut(code=org.code, percent=str(org.tolerance.percent),
                        absolute=Money.of(org.tolerance.absolute, cur))  # fmt: skip


@router.post("/relationships", status_code=201, summary="Record who trades with whom (operator)")
def relate(
    body: RelationshipIn, services: Services, caller: Caller, key: IdempotencyKey
) -> RelationshipOut:
    found = services.parties.relate(buyer=body.buyer, supplier=body.supplier, principal=caller,
                                    key=key)  # fmt: skip
    return RelationshipOut.of(found)


@router.post(
    "/relationships/{buyer}/{supplier}/status",
    summary="Suspend or reactivate a trade relationship (operator)",
)
def set_relationship(
    buyer: str, supplier: str, body: RelationshipStatusIn, services: Services, caller: Caller,
    key: IdempotencyKey,
) -> RelationshipOut:  # fmt: skip
    found = services.parties.set_relationship(
        buyer=buyer, supplier=supplier, status=RelationshipStatus(body.status), principal=caller,
        key=key,
    )  # fmt: skip
    return RelationshipOut.of(found)


@router.get("/relationships", summary="Trade relationships you are a party to")
def relationships(
    services: Services, caller: Caller, org: Org = None, limit: Limit = 100, cursor: Cursor = None
) -> Page[RelationshipOut]:
    last = decode(cursor)
    pair = None
    if last is not None:
        buyer, _, supplier = last.partition(">")
        pair = (buyer, supplier)
    found = services.parties.relationships(org, principal=caller, after=pair, limit=limit + 1)
    page = found[:limit]
    after = (encode(f"{page[-1].buyer}>{page[-1].supplier}")
             if len(found) > limit and page else None)  # fmt: skip
    return Page[RelationshipOut](items=[RelationshipOut.of(r) for r in page], next=after)
